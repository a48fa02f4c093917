"""Schemathesis against the committed OpenAPI document: no input makes the API answer 5xx.

Requests go over HTTP to the local server (`local_harness.server.DevServer`, what `jira-onboarding
serve` runs), which checks the bearer token like API Gateway's JWT authorizer and hands the real
handlers API Gateway v2 events. The team is connected to the Jira simulator; every other host is
unreachable (POST /jira/connection must never call out to a generated URL).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from jira_simulator import JiraSimulator, build_workspace
from local_harness.openapi import OPENAPI_PATH
from local_harness.server import Authorizer, DevServer
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, connect_team

schema = schemathesis.openapi.from_path(OPENAPI_PATH)
TEAM = "team-fuzz"
MAX_EXAMPLES = 60
sent: list[str] = []
reconnect: list[Any] = []  # DELETE /jira/connection disconnects the team: the later cases reconnect it


@pytest.fixture(scope="module")
def loopback_only() -> Iterator[None]:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in {"localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1"}:
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r} is not reachable from the fuzz test")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


@pytest.fixture(scope="module")
def api(loopback_only: None, request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, auth headers) of a DevServer over a LocalStack whose team is connected."""
    simulator = JiraSimulator(build_workspace(seed=1), email=SIM_EMAIL, api_token=SIM_TOKEN)
    with simulator.serve() as jira_url, LocalStack() as stack:
        connect_team(TEAM, jira_url)
        reconnect.append(lambda: connect_team(TEAM, jira_url))
        authorizer = Authorizer(
            secrets.token_bytes(32), str(stack.parameters["JwtIssuer"]), str(stack.parameters["JwtAudience"])
        )
        server = DevServer(stack, authorizer=authorizer)
        base_url = server.start()
        try:
            yield base_url, {"Authorization": f"Bearer {authorizer.token({'team_id': TEAM})}"}
        finally:
            server.stop()
    errors = sum(1 for line in sent if line.endswith(tuple(f"-> {code}" for code in range(500, 600))))
    line = f"schemathesis: {len(sent)} requests to the local API, {errors} answered 5xx"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n{line}")
    else:
        print(line)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_answers_5xx(case: schemathesis.Case, api: tuple[str, dict[str, str]]) -> None:
    base_url, auth = api
    response = case.call(base_url=base_url, headers=auth, timeout=30)
    sent.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if case.method == "DELETE" and case.formatted_path == "/jira/connection" and response.status_code == 200:
        reconnect[-1]()
