"""OAuth 2.0 (3LO): rotating refresh tokens spent exactly once, and a 401 mid-sync refreshed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.jira_access.tokens import TokenStore, read_stored_credentials
from jira_onboarding.settings import get_settings

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match
from local_harness.stack import LocalStack
from tests.conftest import TEAM


class AuthServer:
    """Atlassian's token endpoint as documented: each refresh rotates the refresh token and
    invalidates the old one; a reused refresh token is refused."""

    def __init__(self, simulator: JiraSimulator | None = None, delay_s: float = 0.0) -> None:
        self.spent: list[str] = []
        self.valid = {"rt-1"}
        self.simulator = simulator
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.counter = 1

    def refresh(self, body: dict) -> tuple[int, dict]:
        time.sleep(self.delay_s)  # a slow refresh widens the race
        with self.lock:
            token = body.get("refresh_token")
            self.spent.append(token)
            if body.get("grant_type") != "refresh_token" or token not in self.valid:
                return 403, {"error": "unauthorized_client", "error_description": "refresh_token is invalid"}
            self.valid.discard(token)
            self.counter += 1
            new_access, new_refresh = f"at-{self.counter}", f"rt-{self.counter}"
            self.valid.add(new_refresh)
            if self.simulator is not None:
                self.simulator.add_bearer_token(new_access)
            return 200, {
                "access_token": new_access,
                "refresh_token": new_refresh,
                "expires_in": 3600,
                "token_type": "Bearer",
            }

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        status, body = self.refresh(json.loads(request.content))
        return httpx.Response(status, json=body)

    @contextmanager
    def serve(self) -> Iterator[str]:
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                status, body = server_self.refresh(json.loads(self.rfile.read(length)))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/oauth/token"
        finally:
            server.shutdown()
            server.server_close()


def _oauth_connection(site_url: str, *, expires_at: float) -> None:
    register_connection(
        TEAM,
        site_url,
        "oauth",
        {
            "client_id": "client-1",
            "client_secret": "secret-1",
            "access_token": "at-1",
            "refresh_token": "rt-1",
            "expires_at": expires_at,
        },
    )


def test_two_concurrent_refreshes_spend_the_refresh_token_exactly_once(stack: LocalStack):
    # Given an expired access token and two Lambdas that both notice at the same moment
    _oauth_connection("https://acme.atlassian.net", expires_at=time.time() - 10)
    auth = AuthServer(delay_s=0.3)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def lambda_invocation() -> None:
        store = TokenStore(
            TeamStores(TEAM),
            http=httpx.Client(transport=auth.transport()),
            sleep=lambda s: time.sleep(0.05),
        )
        barrier.wait()
        try:
            results.append(store.access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lambda_invocation) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then the refresh token was spent once, and both got the one new access token
    assert errors == []
    assert auth.spent == ["rt-1"]
    assert results == ["at-2", "at-2"]
    stored = read_stored_credentials(TeamStores(TEAM))
    assert (stored["access_token"], stored["refresh_token"]) == ("at-2", "rt-2")
    assert TeamStores(TEAM).connection.get() is not None


def test_an_expired_token_mid_sync_is_refreshed_once_and_the_sync_completes(
    stack: LocalStack, workspace, monkeypatch
):
    # Given an OAuth connection whose access token Jira stops accepting after a few calls
    simulator = JiraSimulator(workspace, bearer_tokens={"at-1"})
    simulator.faults = FaultPlan.script(
        [(Match(path="/rest/api/3/search/jql", first=1), Fault.expired_token())]
    )
    auth = AuthServer(simulator)
    with simulator.serve() as jira_url, auth.serve() as token_url:
        monkeypatch.setenv("ATLASSIAN_AUTH_URL", token_url)  # (its server answers on any path)
        get_settings.cache_clear()
        _oauth_connection(jira_url, expires_at=time.time() + 3600)

        status, _, body = stack.http(
            "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA"]}
        )
        assert status == 202
        stack.wait_for_executions()
        _, _, run = stack.http("GET", body["status_url"], team_id=TEAM)

    # Then the token was refreshed once and every issue arrived
    assert auth.spent == ["rt-1"]
    assert run["projects"][0]["status"] == "COMPLETE"
    assert TeamStores(TEAM).issues.count("ALPHA") == workspace.issue_count("ALPHA")
