"""A delivery that does not prove it comes from the team's Jira is refused: 401, the same answer
whether the connection exists or not, nothing queued and no table changed. For a dynamic webhook
the JWT (the app's client secret, the same for every customer) proves only that Jira sent it: a
delivery taken from team A's traffic, or a forged body under A's JWT, is refused at team B's URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live.receive import UNAUTHORIZED

from jira_simulator.webhooks import hs256_jwt
from tests.integration.live_support import (
    LiveWorld,
    connect_oauth_team,
    consumer_batches,
    live_world,
    table_snapshot,
)

OAUTH_TEAM = "team-oauth"
OAUTH_SITE = "http://127.0.0.1:9"  # never called: the receiver does not call Jira
OAUTH_WEBHOOK = 777
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


def _jwt(secret: str = APP_SECRET, **claims: int) -> dict[str, str]:
    """A delivery's Authorization as Jira signs it (issued now, 180 s to live), `claims` on top."""
    now = int(time.time())
    return {"Authorization": "Bearer " + hs256_jwt({"iat": now, "exp": now + 180, **claims}, secret)}


def _bound(site: str, ids: list[int], event: str = "jira:issue_updated", key: str = "ALPHA-3") -> bytes:
    """A dynamic delivery's body: the webhook ids it matched and the site's `self` URL."""
    issue = {"id": "10002", "key": key, "self": f"{site}/rest/api/3/issue/10002"}
    return json.dumps(
        {"timestamp": 1, "webhookEvent": event, "issue": issue, "matchedWebhookIds": ids}
    ).encode()


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
        ("other connection's signature", admin, _jwt()),
        (
            "unknown connection",
            "/jira/webhooks/" + "A" * 32,
            {"X-Hub-Signature": _sign(world.setup.secret or "")},
        ),
        ("malformed connection id", "/jira/webhooks/x", {"X-Hub-Signature": _sign(world.setup.secret or "")}),
        ("jwt expired", oauth_path, _jwt(iat=now - 3600, exp=now - 3420)),
        (
            "jwt alg none",
            oauth_path,
            {"Authorization": "Bearer " + hs256_jwt({"iat": now, "exp": now + 60}, "", alg="none")},
        ),
        ("jwt other app", oauth_path, _jwt("other-app")),
        ("hmac on an oauth connection", oauth_path, {"X-Hub-Signature": _sign(world.setup.secret or "")}),
    ]


def test_receive_webhook_refuses_unauthenticated_deliveries_and_writes_nothing(world: LiveWorld):
    oauth = connect_oauth_team(OAUTH_TEAM, OAUTH_SITE, APP_SECRET)
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
    oauth_path = urlsplit(connect_oauth_team(OAUTH_TEAM, OAUTH_SITE, APP_SECRET).webhook_url).path
    LiveStore(OAUTH_TEAM).record_registration([OAUTH_WEBHOOK], "project in (ALPHA)", None)
    assert _post(world, oauth_path, _jwt(), _bound(OAUTH_SITE, [OAUTH_WEBHOOK]))[0] == 202


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


@pytest.fixture
def dynamic_world() -> Iterator[LiveWorld]:
    """Team A (TEAM) connected as the OAuth app, its dynamic webhook registered by the selection;
    a world of this test's own (see `world`)."""
    with live_world(kind="dynamic") as live:
        yield live


def _taken_delivery(world: LiveWorld) -> tuple[dict[str, str], bytes]:
    """One of team A's deliveries as Jira sent it (headers, body), taken instead of delivered."""
    taken: list[tuple[dict[str, str], bytes]] = []
    world.hooks.sender = lambda url, headers, body: taken.append((headers, body)) or 202
    world.hooks.publish(world.control.edit_issue("ALPHA-3", summary="seen by someone else"))
    world.hooks.flush()
    ((headers, body),) = taken
    return headers, body


def _other_connection_cases(
    world: LiveWorld, team_b_path: str, taken: tuple[dict[str, str], bytes]
) -> list[tuple[str, str, dict[str, str], bytes]]:
    headers, body = taken
    a_path = _admin_path(world)
    a_ids = json.loads(body)["matchedWebhookIds"]
    a_site = json.loads(body)["issue"]["self"].split("/rest/", 1)[0]
    jwt = {"Authorization": headers["Authorization"]}
    delete_b = "jira:issue_deleted"
    year_3000 = 32_503_680_000
    return [
        ("A's delivery at B's URL", team_b_path, headers, body),
        ("A's JWT, a forged delete, A's ids and site", team_b_path, jwt, _bound(a_site, a_ids, delete_b)),
        ("A's JWT, B's ids, A's site", team_b_path, jwt, _bound(a_site, [OAUTH_WEBHOOK], delete_b)),
        ("A's JWT, A's ids, B's site", team_b_path, jwt, _bound(OAUTH_SITE, a_ids, delete_b)),
        ("A's JWT, no matchedWebhookIds", team_b_path, jwt, BODY),
        (
            "far-future exp, no iat",
            a_path,
            {"Authorization": "Bearer " + hs256_jwt({"exp": year_3000}, APP_SECRET)},
            body,
        ),
        ("far-future exp", a_path, _jwt(exp=year_3000), body),
        ("matchedWebhookIds not ours", a_path, jwt, _bound(a_site, [OAUTH_WEBHOOK])),
        ("matchedWebhookIds ours and another", a_path, jwt, _bound(a_site, [*a_ids, OAUTH_WEBHOOK])),
        ("self of another site", a_path, jwt, _bound("https://other.atlassian.net", a_ids, delete_b)),
        ("self of B's site", a_path, jwt, _bound(OAUTH_SITE, a_ids, delete_b)),
    ]


def test_receive_webhook_refuses_a_delivery_for_another_connection_and_writes_nothing(
    dynamic_world: LiveWorld,
):
    """The attack that worked: a JWT taken from team A's delivery, posted to team B's URL with a
    forged `jira:issue_deleted`, was accepted and B's issue tombstoned."""
    world = dynamic_world
    team_b = connect_oauth_team(OAUTH_TEAM, OAUTH_SITE, APP_SECRET)
    LiveStore(OAUTH_TEAM).record_registration([OAUTH_WEBHOOK], "project in (ALPHA)", None)
    taken = _taken_delivery(world)
    assert world.stack.drain(timeout_s=30, delayed=True)
    before, batches = table_snapshot(), consumer_batches(world.stack)
    _, forgery = _post(world, urlsplit(team_b.webhook_url).path, _jwt("not-the-app"))
    answers = set()
    for case, path, headers, body in _other_connection_cases(world, urlsplit(team_b.webhook_url).path, taken):
        status, answer = _post(world, path, headers, body)
        assert status == 401, case
        answers.add(json.dumps(answer))
    assert answers == {json.dumps(forgery)} == {json.dumps(UNAUTHORIZED)}, "the same answer as a forgery"
    time.sleep(0.3)
    assert world.stack.drain(timeout_s=10)
    assert consumer_batches(world.stack) == batches, "nothing was queued"
    assert table_snapshot() == before, "no table changed"
    headers, body = taken
    assert _post(world, _admin_path(world), headers, body)[0] == 202, "at A's own URL it is A's delivery"


def test_registering_again_keeps_the_secret_and_deliveries_signed_with_it_are_applied(world: LiveWorld):
    """A second `POST /jira/connection` of the same site (a rotated API token) used to make a new
    secret: the webhook the Jira admin registered was refused from then on, while the status still
    said live updates were on."""
    from tests.conftest import SIM_EMAIL, SIM_TOKEN

    jira_url = world.simulator.served_url  # type: ignore[attr-defined]
    body = {"site_url": jira_url, "auth_kind": "api_token", "email": SIM_EMAIL, "api_token": SIM_TOKEN}

    status, _, answer = world.stack.http("POST", "/jira/connection", team_id=world.team_id, body=body)

    assert status == 201, answer
    live = answer["live_updates"]
    assert urlsplit(live["webhook_url"]).path == _admin_path(world), "the same connection id"
    assert live["secret"] == world.setup.secret
    assert live["secret_unchanged"] is True
    world.hooks.publish(world.control.edit_issue("ALPHA-3", summary="after registering again"))
    world.deliver()
    assert {status for _, status in world.hooks.sent} == {202}, "signed with the original secret"
    assert world.stored()["ALPHA-3"]["summary"] == "after registering again"
