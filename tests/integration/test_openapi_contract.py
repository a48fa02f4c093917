"""The committed OpenAPI document is the contract: every answer of every route, on its success and
its error paths, is documented for its route and method and validates against its schema.

One local stack (a self-hosted deployment: OAuth and API-token connections both allowed) and the
simulator playing Jira and Atlassian. Team A connects through the OAuth routes, selects a project,
reads its run, metrics, insights, projects and members, and disconnects; team B connects with an
API token and its admin webhook receives deliveries. Each answer goes through `LocalStack.http`
(the handlers as API Gateway calls them) and is checked with jsonschema against the document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from jira_onboarding.logic.live.auth import hub_signature

from jira_simulator import JiraSimulator, SimSite, build_workspace, follow_consent
from local_harness.openapi_contract import OpenApiContract
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, connect_team

TEAM_A, TEAM_B = "team-contract-a", "team-contract-b"
SECOND = SimSite("0d3c6b2a-1f4e-4a9b-8c7d-6e5f4a3b2c1d", "beta-sim", "https://beta-sim.atlassian.net")
NONCE = "Zr4bS0c1pL2m3n4o5p6q7r8s9tUv"


@dataclass
class Api:
    """`LocalStack.http`, each answer checked against the document and tallied."""

    stack: LocalStack
    contract: OpenApiContract = field(default_factory=OpenApiContract)
    seen: set[tuple[str, str, int]] = field(default_factory=set)
    answers: int = 0
    problems: list[str] = field(default_factory=list)

    def __call__(self, method: str, path: str, team: str | None, expect: int, **kwargs: Any) -> Any:
        status, headers, body = self.stack.http(method, path, team_id=team, **kwargs)
        assert status == expect, f"{method} {path}: {status} {body}"
        self.answers += 1
        self.problems += self.contract.problems(method, path, status, body)
        self.seen.add((method, str(self.contract.route(method, path)), status))
        return headers if status == 302 else body


@pytest.fixture
def api() -> Iterator[Api]:
    simulator = JiraSimulator(build_workspace(seed=1), email=SIM_EMAIL, api_token=SIM_TOKEN)
    simulator.app.sites.append(SECOND)
    with simulator.serve() as url, LocalStack(parameters={"AllowApiTokenConnections": "true"}) as stack:
        stack.use_atlassian(url, simulator.app)
        stack.jira_url = url  # type: ignore[attr-defined]
        yield Api(stack)


def _before_connecting(api: Api) -> None:
    assert api("GET", "/jira/connection", TEAM_A, 200)["state"] == "not_connected"
    api("GET", "/jira/connection", None, 403)  # no team claim
    api("GET", "/jira/onboarding", TEAM_A, 404)
    api("POST", "/jira/onboarding", TEAM_A, 409, body={"project_keys": ["ALPHA"]})
    api("GET", "/jira/projects", TEAM_A, 409)
    api("GET", "/jira/metrics", TEAM_A, 404)
    api("GET", "/jira/insights", TEAM_A, 404)
    api("DELETE", "/jira/connection", TEAM_A, 404)
    api("DELETE", "/jira/connection", TEAM_A, 400, query={"erase_personal_data": "maybe"})


def _connect_through_oauth(api: Api) -> None:
    assert api("POST", "/jira/oauth/authorize", TEAM_A, 400, body={"browser_nonce": "short"})["problems"]
    api("POST", "/jira/oauth/authorize", TEAM_A, 415, raw_body="x", headers={"content-type": "text/plain"})
    api("POST", "/jira/oauth/authorize", TEAM_A, 413, raw_body=json.dumps({"browser_nonce": "x" * 17_000}))
    api("POST", "/jira/oauth/authorize", TEAM_A, 400, raw_body="[" * 40 + "]" * 40)
    answer = api("POST", "/jira/oauth/authorize", TEAM_A, 200, body={"browser_nonce": NONCE})
    redirect = follow_consent(answer["authorize_url"], accept=True)
    api("GET", "/jira/oauth/callback", None, 302, query=dict(parse_qsl(urlsplit(redirect).query)))
    api("GET", "/jira/oauth/callback", None, 302, query={"state": "forged"})
    state = {"state": answer["state"], "browser_nonce": NONCE}
    api("POST", "/jira/oauth/connect", TEAM_A, 409, body={**state, "browser_nonce": "N" * 22})
    sites = api("POST", "/jira/oauth/connect", TEAM_A, 200, body=state)["sites"]
    chosen = {**state, "cloud_id": sites[0]["cloud_id"]}
    assert api("POST", "/jira/oauth/connect", TEAM_A, 200, body=chosen)["status"] == "connected"
    api("POST", "/jira/oauth/connect", TEAM_A, 409, body=chosen)  # used once already
    api("POST", "/jira/oauth/connect", TEAM_A, 400, body={"state": "x"})
    assert api("GET", "/jira/connection", TEAM_A, 200)["state"] == "connected"


def _sync_and_read(api: Api) -> None:
    connect_team(TEAM_A, api.stack.jira_url, build_workspace(seed=1), register=False)  # type: ignore[attr-defined]
    api("GET", "/jira/projects", TEAM_A, 200, query={"max_results": "5"})
    api("GET", "/jira/projects", TEAM_A, 400, query={"max_results": "0"})
    api("POST", "/jira/onboarding", TEAM_A, 400, body={"project_keys": ["1"]})
    started = api("POST", "/jira/onboarding", TEAM_A, 202, body={"project_keys": ["ALPHA"]})
    assert api.stack.wait_for_executions(timeout_s=120)
    assert api("GET", "/jira/onboarding", TEAM_A, 200)["status_url"] == started["status_url"]
    assert api("GET", started["status_url"], TEAM_A, 200)["projects"][0]["status"] == "COMPLETE"
    api("GET", "/jira/onboarding/run-unknown", TEAM_A, 404)
    api("GET", "/jira/onboarding/" + "r" * 81, TEAM_A, 400)
    assert api("GET", "/jira/metrics", TEAM_A, 200)["sprint_metrics"]["boards"]
    api("GET", "/jira/insights", TEAM_A, 200)


def _members(api: Api) -> None:
    members = api("GET", "/jira/members", TEAM_A, 200)["members"]
    member = f"/jira/members/{members[0]['member_id']}/match"
    api("PUT", member, TEAM_A, 200, body={"not_in_jira": True})
    api("PUT", member, TEAM_A, 400, body={})
    api("PUT", "/jira/members/nobody/match", TEAM_A, 404, body={"not_in_jira": True})
    api("DELETE", member, TEAM_A, 200)
    api("DELETE", "/jira/members/nobody/match", TEAM_A, 404)
    api("DELETE", "/jira/members/no%20body/match", TEAM_A, 400)


def _admin_webhook(api: Api) -> None:
    token = {"site_url": api.stack.jira_url, "auth_kind": "api_token", "email": SIM_EMAIL}  # type: ignore[attr-defined]
    api("POST", "/jira/connection", TEAM_B, 400, body={**token, "api_token": SIM_TOKEN, "client_id": "x"})
    live = api("POST", "/jira/connection", TEAM_B, 201, body={**token, "api_token": SIM_TOKEN})[
        "live_updates"
    ]
    path = urlsplit(live["webhook_url"]).path

    def deliver(expect: int, event: Any, secret: str = live["secret"]) -> None:
        raw = json.dumps(event)
        headers = {"X-Hub-Signature": hub_signature(secret, raw.encode()), "content-type": "application/json"}
        api("POST", path, None, expect, raw_body=raw, headers=headers)

    deliver(202, {"webhookEvent": "contract:ping", "timestamp": 1})
    deliver(400, {"issue": {}})
    deliver(401, {"webhookEvent": "contract:ping"}, secret="not-the-secret")
    deliver(413, {"webhookEvent": "contract:ping", "padding": "x" * (1024 * 1024)})


def _disconnect(api: Api) -> None:
    assert api("DELETE", "/jira/connection", TEAM_A, 200)["data_kept"] is True
    api("DELETE", "/jira/connection", TEAM_A, 404)


# What this test drives: every route of the document, with the statuses each answered.
EXPECTED = {
    ("GET", "/jira/connection"): {200, 403},
    ("DELETE", "/jira/connection"): {200, 400, 404},
    ("POST", "/jira/connection"): {201, 400},
    ("GET", "/jira/onboarding"): {200, 404},
    ("POST", "/jira/onboarding"): {202, 400, 409},
    ("GET", "/jira/onboarding/{run_id}"): {200, 400, 404},
    ("GET", "/jira/projects"): {200, 400, 409},
    ("GET", "/jira/metrics"): {200, 404},
    ("GET", "/jira/insights"): {200, 404},
    ("POST", "/jira/oauth/authorize"): {200, 400, 413, 415},
    ("GET", "/jira/oauth/callback"): {302},
    ("POST", "/jira/oauth/connect"): {200, 400, 409},
    ("GET", "/jira/members"): {200},
    ("PUT", "/jira/members/{member_id}/match"): {200, 400, 404},
    ("DELETE", "/jira/members/{member_id}/match"): {200, 400, 404},
    ("POST", "/jira/webhooks/{connection_id}"): {202, 400, 401, 413},
}


@pytest.mark.slow
def test_every_answer_of_every_route_keeps_the_openapi_document(api: Api) -> None:
    _before_connecting(api)
    _connect_through_oauth(api)
    _sync_and_read(api)
    _members(api)
    _admin_webhook(api)
    _disconnect(api)

    assert api.problems == []
    seen: dict[tuple[str, str], set[int]] = {}
    for method, route, status in api.seen:
        seen.setdefault((method, route), set()).add(status)
    assert seen == EXPECTED
    documented = {(m.upper(), p) for p, item in api.contract.document["paths"].items() for m in item}
    assert set(seen) == documented, "a route of the document is not driven here"
    print(f"\nOpenAPI contract: {api.answers} answers over {len(api.seen)} route x status pairs validated")
