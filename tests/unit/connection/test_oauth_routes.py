"""The connection's OAuth routes as API Gateway calls them (RegisterConnectionFunction's router on
payload 2.0 events, on moto): the page's authorize, Atlassian's redirect to the callback without a
JWT (a 302 to the page with the outcome word, never a token), connect, and GET /jira/connection."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from jira_onboarding.api.register_connection import router
from jira_onboarding.api.resolver import build_resolver

from local_harness.api_events import http_api_event
from tests.unit.connection.oauth_support import FakeAtlassian

app = build_resolver(router)
NONCE = "b" * 32


def _call(
    method: str, path: str, team_id: str | None, body: Any = None, query: dict | None = None
) -> tuple[int, dict, Any]:
    event = http_api_event(
        method,
        path,
        path,
        {},
        body=json.dumps(body) if body is not None else None,
        query=query,
        claims={"team_id": team_id} if team_id else {},
    )
    if query:
        event["queryStringParameters"] = query
    answer = app.resolve(event, SimpleNamespace(aws_request_id="unit", function_name="unit"))
    raw = answer.get("body") or ""
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return answer["statusCode"], answer.get("headers") or {}, parsed


def test_the_routes_connect_a_team_and_the_callback_answers_a_redirect_without_a_token(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    status, _, before = _call("GET", "/jira/connection", team_id)
    assert (status, before["state"], before["connected"]) == (200, "not_connected", False)

    status, _, started = _call("POST", "/jira/oauth/authorize", team_id, {"browser_nonce": NONCE})
    assert status == 200 and parse_qs(urlsplit(started["authorize_url"]).query)["state"] == [started["state"]]

    code = atlassian.code()
    status, headers, body = _call(
        "GET", "/jira/oauth/callback", None, query={"state": started["state"], "code": code}
    )
    location = {k.lower(): v for k, v in headers.items()}["location"]
    assert status == 302 and location.endswith("/?jira_oauth=granted") and not body
    assert code not in location and started["state"] not in location

    status, _, connected = _call(
        "POST", "/jira/oauth/connect", team_id, {"state": started["state"], "browser_nonce": NONCE}
    )
    assert status == 200 and connected["status"] == "connected", connected
    status, _, after = _call("GET", "/jira/connection", team_id)
    assert after["state"] == "connected" and after["site_url"] == "https://acme-sim.atlassian.net"


@pytest.mark.parametrize(
    "body",
    [{}, {"browser_nonce": "short"}, {"browser_nonce": NONCE, "extra": 1}],
)
def test_authorize_refuses_a_bad_body_with_a_400(team_id: str, atlassian: FakeAtlassian, body: dict) -> None:
    status, _, answer = _call("POST", "/jira/oauth/authorize", team_id, body)
    assert status == 400 and answer["message"]


def test_connect_with_an_unknown_state_is_a_409_with_a_sentence(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    status, _, answer = _call(
        "POST", "/jira/oauth/connect", team_id, {"state": "s" * 43, "browser_nonce": NONCE}
    )
    assert status == 409 and "Connect Jira" in answer["message"]
