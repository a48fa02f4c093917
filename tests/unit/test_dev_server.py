"""`jira-onboarding serve`: the JWT check that stands in for API Gateway's authorizer, and routing."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from local_harness.server import Authorizer, DevServer, TokenError, issue_token, verify_token
from local_harness.template import template_model

SECRET = b"s" * 32
ISSUER = "https://auth.example.com/"
AUDIENCE = "jira-onboarding"


def _token(**overrides: Any) -> str:
    claims = {"team_id": "team-a", **overrides}
    return issue_token(SECRET, issuer=ISSUER, audience=AUDIENCE, claims=claims)


def _verify(token: str, **kwargs: Any) -> dict[str, Any]:
    return verify_token(token, SECRET, issuer=ISSUER, audience=AUDIENCE, **kwargs)


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_verify_token_accepts_a_token_it_issued_and_returns_its_claims():
    claims = _verify(_token())
    assert claims["team_id"] == "team-a"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE


def test_verify_token_accepts_an_audience_list_naming_the_api():
    assert _verify(_token(aud=["other", AUDIENCE]))["team_id"] == "team-a"


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("not-a-jwt", "not a JWT"),
        ("a.b", "not a JWT"),
        ("a..c", "not a JWT"),
        (_token(exp=int(time.time()) - 1), "expired"),
        (_token(exp="tomorrow"), "expired"),
        # Built at collection time: hours ahead, so a slow suite reaching this test later still sees it early.
        (_token(nbf=int(time.time()) + 6 * 3600), "not valid yet"),
        (_token(iss="https://evil.example.com/"), "issuer"),
        (_token(aud="another-api"), "audience"),
        (_token(aud=["another-api"]), "audience"),
    ],
    # Named by position, not by the token: a token holds the time it was built, and every worker of
    # `make test` must collect the same ids.
    ids=lambda value: (
        value if value in {"not a JWT", "expired", "not valid yet", "issuer", "audience"} else "token"
    ),
)
def test_verify_token_rejects(token, words):
    with pytest.raises(TokenError, match=words):
        _verify(token)


def test_verify_token_rejects_a_token_signed_with_another_secret():
    token = issue_token(b"x" * 32, issuer=ISSUER, audience=AUDIENCE, claims={"team_id": "team-a"})
    with pytest.raises(TokenError, match="signature"):
        _verify(token)


def test_verify_token_rejects_changed_claims_under_the_original_signature():
    header, _, signature = _token().split(".")
    forged = _segment({"iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60, "team_id": "team-b"})
    with pytest.raises(TokenError, match="signature"):
        _verify(f"{header}.{forged}.{signature}")


def test_verify_token_rejects_alg_none():
    payload = _segment({"iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60, "team_id": "team-a"})
    with pytest.raises(TokenError, match="HS256"):
        _verify(f"{_segment({'alg': 'none'})}.{payload}.c2ln")


class FakeStack:
    """The two things DevServer uses of LocalStack: the template's functions and `http`."""

    def __init__(self) -> None:
        self.parameters = {"TeamClaim": "team_id", "AllowedOrigins": "https://app.example.test"}
        self.model = template_model()
        self.functions = {spec.logical_id: spec for spec in self.model.functions()}
        self.calls: list[dict[str, Any]] = []

    def http(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        self.calls.append({"method": method, "path": path, **kwargs})
        return 200, {"Content-Type": "application/json"}, {"ok": True}


@pytest.fixture
def server(tmp_path: Path) -> tuple[DevServer, FakeStack]:
    (tmp_path / "index.html").write_text("<h1>page</h1>", encoding="utf-8")
    alpine = tmp_path / "alpine.js"
    alpine.write_text("window.Alpine = {}", encoding="utf-8")
    stack = FakeStack()
    dev = DevServer(
        stack,  # type: ignore[arg-type]
        authorizer=Authorizer(SECRET, ISSUER, AUDIENCE),
        web_dir=tmp_path,
        alpine_js=alpine,
    )
    return dev, stack


def test_api_request_with_a_valid_token_reaches_the_handler_with_the_verified_team(server):
    dev, stack = server
    status, _, body = dev.dispatch(
        "GET", "/jira/onboarding/run-1?a=1&a=2", {"Authorization": f"Bearer {_token()}"}, b""
    )
    assert (status, json.loads(body)) == (200, {"ok": True})
    (call,) = stack.calls
    assert call["team_id"] == "team-a"
    assert call["path"] == "/jira/onboarding/run-1"
    assert call["query"] == {"a": "1,2"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x.y.z"}],
)
def test_api_request_without_a_valid_token_is_401_and_never_reaches_a_handler(server, headers):
    dev, stack = server
    status, answer_headers, body = dev.dispatch("POST", "/jira/onboarding", headers, b"{}")
    assert status == 401
    assert json.loads(body) == {"message": "Unauthorized"}
    assert "invalid_token" in answer_headers["www-authenticate"]
    assert stack.calls == []


def test_a_token_without_the_team_claim_is_passed_on_without_a_team(server):
    dev, stack = server
    token = issue_token(SECRET, issuer=ISSUER, audience=AUDIENCE, claims={"sub": "u1"})
    dev.dispatch("POST", "/jira/onboarding", {"authorization": f"bearer {token}"}, b"{}")
    assert stack.calls[0]["team_id"] is None  # the handler answers 403, as deployed


def test_the_server_adds_no_route_of_its_own_the_page_uses_the_api(server):
    # The projects come from the API's GET /jira/projects, as deployed: no dev-only route is left.
    dev, stack = server
    assert dev.dispatch("GET", "/dev/projects", {"Authorization": f"Bearer {_token()}"}, b"")[0] == 404
    assert stack.calls == []


def test_static_files_are_served_from_the_web_folder_only(server):
    dev, _ = server
    status, headers, body = dev.dispatch("GET", "/", {}, b"")
    assert (status, body) == (200, b"<h1>page</h1>")
    assert headers["content-type"].startswith("text/html")
    assert dev.dispatch("GET", "/vendor/alpine.js", {}, b"")[2] == b"window.Alpine = {}"
    assert dev.dispatch("GET", "/../pyproject.toml", {}, b"")[0] == 404
    assert dev.dispatch("GET", "/missing.css", {}, b"")[0] == 404
    assert dev.dispatch("POST", "/", {}, b"")[0] == 404


def test_a_preflight_from_an_allowed_origin_is_answered_before_the_authorizer(server):
    dev, stack = server
    preflight = {"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"}
    status, headers, _ = dev.dispatch("OPTIONS", "/jira/onboarding", preflight, b"")
    assert status == 204 and headers["access-control-allow-origin"] == "https://app.example.test"
    assert "authorization" in headers["access-control-allow-headers"]
    assert "POST" in headers["access-control-allow-methods"] and stack.calls == []
    status, headers, _ = dev.dispatch(
        "GET",
        "/jira/connection",
        {"Origin": "https://app.example.test", "Authorization": f"Bearer {_token()}"},
        b"",
    )
    assert status == 200 and headers["access-control-allow-origin"] == "https://app.example.test"


def test_another_origin_gets_no_cors_headers_and_its_preflight_is_refused(server):
    dev, _ = server
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert dev.dispatch("OPTIONS", "/jira/onboarding", preflight, b"")[0] == 404
    _, headers, _ = dev.dispatch(
        "GET",
        "/jira/connection",
        {"Origin": "https://evil.example", "Authorization": f"Bearer {_token()}"},
        b"",
    )
    assert "access-control-allow-origin" not in headers
