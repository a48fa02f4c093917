"""POST /jira/connection reaches Jira Cloud only (issue 14, items 1-2): every other site URL is a
400 before any connection is made, and a hostile answer is never echoed back.

A real listener on 127.0.0.1 stands in for everything the URLs below point at (link-local,
private, loopback in every notation): the test counts the connections it accepts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.jira_access.gateway import open_jira

from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM


class Listener:
    """A TCP listener on 127.0.0.1 that accepts and counts connections, and answers nothing."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """A self-hosted deployment (AllowApiTokenConnections=true): these connect with API tokens,
    which the SaaS default refuses (tests/integration/test_oauth_connect_flow.py)."""
    with LocalStack(parameters={"AllowApiTokenConnections": "true"}) as local:
        yield local


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture
def deployed(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The stack as deployed: the local-Jira setting the harness sets is off."""
    monkeypatch.delenv("ALLOW_LOCAL_JIRA")
    return stack


def _connect(stack: LocalStack, site_url: str) -> tuple[int, dict]:
    body = {"site_url": site_url, "auth_kind": "api_token", "email": SIM_EMAIL, "api_token": SIM_TOKEN}
    status, _, answer = stack.http("POST", "/jira/connection", team_id=TEAM, body=body)
    return status, answer


# {port} is the listener's. Each row points at it (or at what a deployed Lambda must never reach).
REFUSED_DEPLOYED = {
    "http loopback": "http://127.0.0.1:{port}",
    "https loopback": "https://127.0.0.1:{port}",
    "localhost": "https://localhost:{port}",
    "IPv6 loopback": "https://[::1]:{port}",
    "decimal IP": "https://2130706433:{port}",
    "hex IP": "https://0x7f000001:{port}",
    "octal IP": "https://0177.0.0.1:{port}",
    "short IP": "https://127.1:{port}",
    "mapped IPv6": "https://[::ffff:127.0.0.1]:{port}",
    "mapped IPv6 hex": "https://[::ffff:7f00:1]:{port}",
    "userinfo": "https://user:pass@127.0.0.1:{port}",
    "userinfo on a cloud site": "https://user:pass@acme.atlassian.net",
    "cloud site then userinfo": "https://acme.atlassian.net@127.0.0.1:{port}",
    "a name resolving to loopback": "https://127.0.0.1.nip.io:{port}",
    "link-local metadata": "http://169.254.169.254/latest/meta-data/",
    "link-local https": "https://169.254.169.254",
    "private 10/8": "https://10.0.0.1",
    "private 172.16/12": "https://172.16.0.1",
    "private 192.168/16": "https://192.168.1.1",
    "internal name": "https://jira.internal",
    "cloud metadata name": "https://metadata.google.internal",
    "port on a cloud site": "https://acme.atlassian.net:{port}",
    "path": "https://acme.atlassian.net/rest/api/3",
    "query": "https://acme.atlassian.net?next=http://127.0.0.1",
    "fragment": "https://acme.atlassian.net#x",
    "http cloud site": "http://acme.atlassian.net",
}


@pytest.mark.parametrize("url", REFUSED_DEPLOYED.values(), ids=REFUSED_DEPLOYED.keys())
def test_connection_refuses_non_cloud_site_urls_before_connecting(
    deployed: LocalStack, listener: Listener, url: str
) -> None:
    status, answer = _connect(deployed, url.format(port=listener.port))

    assert status == 400
    assert "site_url" in answer["message"]
    assert listener.accepted == 0
    assert TeamStores(TEAM).connection.get() is None


REFUSED_LOCAL = {
    "decimal IP": "http://2130706433:{port}",
    "hex IP": "http://0x7f000001:{port}",
    "mapped IPv6": "http://[::ffff:127.0.0.1]:{port}",
    "userinfo": "http://user:pass@127.0.0.1:{port}",
    "path": "http://127.0.0.1:{port}/rest",
    "query": "http://127.0.0.1:{port}?x=1",
    "other loopback address": "http://127.0.0.2:{port}",
    "private": "http://10.0.0.1:{port}",
}


@pytest.mark.parametrize("url", REFUSED_LOCAL.values(), ids=REFUSED_LOCAL.keys())
def test_connection_refuses_other_hosts_before_connecting_even_when_local_jira_is_allowed(
    stack: LocalStack, listener: Listener, url: str
) -> None:
    status, answer = _connect(stack, url.format(port=listener.port))

    assert status == 400
    assert "site_url" in answer["message"]
    assert listener.accepted == 0


def test_connection_to_loopback_reaches_the_listener_when_local_jira_is_allowed(
    stack: LocalStack, listener: Listener
) -> None:
    # The control: the listener does see a connection the policy lets through.
    status, _answer = _connect(stack, f"http://127.0.0.1:{listener.port}")

    assert status == 400
    assert listener.accepted == 1
    assert TeamStores(TEAM).connection.get() is None


SECRET_MARKER = "REMOTE-BODY-MARKER"


class _HostileJira(BaseHTTPRequestHandler):
    """Answers /rest/api/3/myself as a hostile or wrong site would."""

    mode = "echo"
    redirect_to = ""

    def do_GET(self) -> None:
        if self.mode == "echo":  # a 400 quoting the request's Authorization header, 5 KB long
            body = (
                f'{{"errorMessages": ["{SECRET_MARKER} {self.headers.get("Authorization")} {"x" * 5000}"]}}'
            )
            self._answer(400, body)
        elif self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.mode == "not_jira_json":
            self._answer(200, f'{{"hello": "{SECRET_MARKER}"}}')
        else:  # html
            self._answer(200, f"<html>{SECRET_MARKER}</html>", "text/html")

    def _answer(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hostile_jira() -> Iterator[tuple[str, type[_HostileJira]]]:
    handler = type("Handler", (_HostileJira,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("echo", "did not answer as a Jira Cloud site (HTTP 400)"),
        ("redirect", "did not answer as a Jira Cloud site (HTTP 302)"),
        ("not_jira_json", "did not answer as a Jira Cloud site"),
        ("html", "did not answer as a Jira Cloud site"),
    ],
)
def test_connection_answers_in_its_own_words_and_never_echoes_the_remote_body(
    stack: LocalStack, hostile_jira: tuple[str, type[_HostileJira]], listener: Listener, mode: str, words: str
) -> None:
    url, handler = hostile_jira
    handler.mode = mode
    handler.redirect_to = f"http://127.0.0.1:{listener.port}/rest/api/3/myself"

    status, answer = _connect(stack, url)

    assert status == 400
    assert words in answer["message"]
    assert SECRET_MARKER not in answer["message"]
    assert "Basic" not in answer["message"] and SIM_TOKEN not in answer["message"]
    assert len(answer["message"]) < 200
    assert listener.accepted == 0  # the redirect was not followed
    assert TeamStores(TEAM).connection.get() is None


def test_connection_registered_before_the_rules_is_refused_before_a_client_opens(
    deployed: LocalStack, listener: Listener
) -> None:
    # Given a stored connection whose site no request could register now (written before the rules)
    repo = TeamStores(TEAM)
    repo.connection.save(f"http://127.0.0.1:{listener.port}", "api_token", credentials_envelope="never-read")

    # When a step opens the team's Jira client
    with pytest.raises(OnboardingRequestError, match="register the connection again"):
        open_jira(TEAM, repo)

    # Then nothing was sent there
    assert listener.accepted == 0


def test_template_never_allows_a_local_jira() -> None:
    from local_harness.template import REPO_ROOT

    assert "ALLOW_LOCAL_JIRA" not in (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
