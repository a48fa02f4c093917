"""A delivery that does not prove it comes from the team's Jira is refused: 401, the same answer
whether the connection exists or not, nothing queued and no table changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from jira_onboarding.dal.live import LiveStore

from jira_simulator.webhooks import hs256_jwt
from tests.integration.live_support import (
    LiveWorld,
    connect_oauth_team,
    consumer_batches,
    live_world,
    table_snapshot,
)

OAUTH_TEAM = "team-oauth"
APP_SECRET = "demo-oauth-client-secret"
BODY = json.dumps(
    {"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "10002", "key": "ALPHA-3"}}
).encode()


@pytest.fixture
def world() -> Iterator[LiveWorld]:
    """A world per test: on a shared one, a neighbour's delayed metrics recompute (due up to
    LIVE_METRICS_INTERVAL_SECONDS later, so a drain does not wait for it) landed during the refusal
    test's check (CI, stop 30: one consumer batch more than before)."""
    with live_world() as live:
        yield live


def _post(world: LiveWorld, path: str, headers: dict[str, str], body: bytes = BODY) -> tuple[int, object]:
    status, _, answer = world.stack.http("POST", path, team_id=None, raw_body=body.decode(), headers=headers)
    return status, answer


def _sign(secret: str, body: bytes = BODY) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _admin_path(world: LiveWorld) -> str:
    return urlsplit(world.setup.webhook_url).path


def _refused_cases(world: LiveWorld, oauth_path: str) -> list[tuple[str, str, dict[str, str]]]:
    admin = _admin_path(world)
    now = int(time.time())
    return [
        ("missing signature", admin, {}),
        ("forged signature", admin, {"X-Hub-Signature": "sha256=" + "ab" * 32}),
        ("wrong secret", admin, {"X-Hub-Signature": _sign("not-the-secret")}),
        (
            "other connection's signature",
            admin,
            {"Authorization": "Bearer " + hs256_jwt({"exp": now + 60}, APP_SECRET)},
        ),
        (
            "unknown connection",
            "/jira/webhooks/" + "A" * 32,
            {"X-Hub-Signature": _sign(world.setup.secret or "")},
        ),
        ("malformed connection id", "/jira/webhooks/x", {"X-Hub-Signature": _sign(world.setup.secret or "")}),
        (
            "jwt expired",
            oauth_path,
            {"Authorization": "Bearer " + hs256_jwt({"exp": now - 3600}, APP_SECRET)},
        ),
        (
            "jwt alg none",
            oauth_path,
            {"Authorization": "Bearer " + hs256_jwt({"exp": now + 60}, "", alg="none")},
        ),
        (
            "jwt other app",
            oauth_path,
            {"Authorization": "Bearer " + hs256_jwt({"exp": now + 60}, "other-app")},
        ),
        ("hmac on an oauth connection", oauth_path, {"X-Hub-Signature": _sign(world.setup.secret or "")}),
    ]


def test_receive_webhook_refuses_unauthenticated_deliveries_and_writes_nothing(world: LiveWorld):
    oauth = connect_oauth_team(OAUTH_TEAM, "http://127.0.0.1:9", APP_SECRET)
    oauth_path = urlsplit(oauth.webhook_url).path
    assert world.stack.drain(timeout_s=30, delayed=True)
    before, batches = table_snapshot(), consumer_batches(world.stack)
    answers = set()
    for case, path, headers in _refused_cases(world, oauth_path):
        status, answer = _post(world, path, headers)
        assert status == 401, case
        answers.add(json.dumps(answer))
    assert len(answers) == 1, "every refusal is the same answer"
    time.sleep(0.3)
    assert world.stack.drain(timeout_s=10)
    assert consumer_batches(world.stack) == batches, "nothing was queued"
    assert table_snapshot() == before, "no table changed"


def test_receive_webhook_accepts_signed_deliveries_and_applies_one_identifier_once(world: LiveWorld):
    assert world.stack.drain(timeout_s=30)
    applied = LiveStore(world.team_id).status().events_applied
    headers = {"X-Hub-Signature": _sign(world.setup.secret or ""), "X-Atlassian-Webhook-Identifier": "d-1"}
    first = _post(world, _admin_path(world), headers)
    again = _post(world, _admin_path(world), {**headers, "X-Atlassian-Webhook-Retry": "1"})
    assert first == again == (202, {"accepted": True})
    assert world.stack.drain(timeout_s=30)
    assert LiveStore(world.team_id).status().events_applied == applied + 1, "the retry was not applied again"
    oauth_path = urlsplit(connect_oauth_team(OAUTH_TEAM, "http://127.0.0.1:9", APP_SECRET).webhook_url).path
    token = hs256_jwt({"exp": int(time.time()) + 60}, APP_SECRET)
    assert _post(world, oauth_path, {"Authorization": f"Bearer {token}"})[0] == 202


def test_receive_webhook_reads_the_raw_bytes_when_api_gateway_base64_encodes_them(world: LiveWorld):
    import base64

    from jira_onboarding.logic.live.receive import receive_webhook

    connection_id = _admin_path(world).rsplit("/", 1)[1]
    event = {
        "headers": {
            "x-hub-signature": _sign(world.setup.secret or ""),
            "x-atlassian-webhook-identifier": "d-b64",
        },
        "pathParameters": {"connection_id": connection_id},
        "body": base64.b64encode(BODY).decode(),
        "isBase64Encoded": True,
    }
    assert receive_webhook(event)["statusCode"] == 202
    assert receive_webhook({**event, "body": BODY.decode(), "isBase64Encoded": True})["statusCode"] == 401


def test_receive_webhook_answers_400_for_a_signed_body_that_is_not_an_event(world: LiveWorld):
    body = b'{"hello": "world"}'
    status, answer = _post(
        world, _admin_path(world), {"X-Hub-Signature": _sign(world.setup.secret or "", body)}, body
    )
    assert status == 400
    assert "webhookEvent" in str(answer)
