"""The webhook receiver: a delivery is authenticated, checked and queued, or refused with one 401
that says nothing about the connection; it never writes a table and never calls Jira. Deliveries
are signed as the simulator's dispatcher signs them (jira_simulator/webhooks.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from jira_onboarding.contracts import LiveUpdatesSetup
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.live import receive as receiver
from jira_onboarding.logic.live.events import MAX_QUEUED_EVENT_BYTES, parse_message
from jira_onboarding.logic.live.receive import MAX_WEBHOOK_BYTES, receive_webhook
from jira_onboarding.logic.live.registration import enable_live_updates

from jira_simulator import JiraSimulator
from jira_simulator.live import live_parts
from jira_simulator.webhooks import hs256_jwt
from tests.conftest import SIM_EMAIL, SIM_TOKEN
from tests.unit.conftest import team_site
from tests.unit.live_support import (
    WEBHOOK_BASE,
    LiveTeam,
    Queue,
    api_event,
    make_live_team,
    receiver_sender,
    small_workspace,
)

EVENT = {"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "10002", "key": "ALPHA-3"}}
BODY = json.dumps(EVENT).encode()
UNAUTHORIZED = {"message": "The delivery's signature was not accepted."}


def _sign(secret: str, body: bytes = BODY) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _connection_id(setup: LiveUpdatesSetup) -> str:
    return urlsplit(setup.webhook_url).path.rsplit("/", 1)[1]


def _answer(event: dict) -> tuple[int, dict]:
    answer = receive_webhook(event)
    assert answer["headers"] == {"Content-Type": "application/json"}
    return answer["statusCode"], json.loads(answer["body"])


@dataclass
class Admin:
    team_id: str
    connection_id: str
    secret: str


@pytest.fixture(scope="module")
def admin(dynamodb_tables: None) -> Admin:
    """A team connected with an API token, live updates on (shared by this module's tests: the
    receiver writes nothing, which the tests check)."""
    team_id = f"team-{uuid.uuid4().hex[:12]}"
    register_connection(
        team_id, team_site(team_id), "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN}
    )
    setup = enable_live_updates(team_id, base_url=WEBHOOK_BASE)
    assert setup.secret
    return Admin(team_id, _connection_id(setup), setup.secret)


@pytest.fixture
def oauth_team(team_id: str, monkeypatch: pytest.MonkeyPatch, live_queue: Queue) -> LiveTeam:
    return make_live_team(team_id, monkeypatch, "oauth", onboarded=False)


def test_receive_webhook_queues_a_signed_delivery_and_answers_202(
    live_queue: Queue, admin: Admin, monkeypatch: pytest.MonkeyPatch
):
    def no_jira(*args: object, **kwargs: object) -> None:
        raise AssertionError("the receiver never calls Jira")

    monkeypatch.setattr(JiraClient, "connect", no_jira)
    headers = {"X-Hub-Signature": _sign(admin.secret), "X-Atlassian-Webhook-Identifier": "d-1"}

    status, body = _answer(api_event(admin.connection_id, headers, BODY))

    assert (status, body) == (202, {"accepted": True})
    [sent] = live_queue.sent
    assert sent["QueueUrl"] == live_queue.url
    message = parse_message(sent["MessageBody"])
    assert (message.team_id, message.delivery_id, message.event) == (admin.team_id, "d-1", EVENT)
    assert message.received_at is not None and abs(message.received_at - time.time()) < 60


def test_receive_webhook_queues_every_retry_of_a_delivery_under_its_one_identifier(
    live_queue: Queue, admin: Admin
):
    connection_id, secret = admin.connection_id, admin.secret
    headers = {"X-Hub-Signature": _sign(secret), "X-Atlassian-Webhook-Identifier": "d-2"}

    for retry in range(3):
        assert (
            _answer(api_event(connection_id, {**headers, "X-Atlassian-Webhook-Retry": str(retry)}, BODY))[0]
            == 202
        )

    assert {parse_message(m["MessageBody"]).delivery_id for m in live_queue.sent} == {"d-2"}
    assert len(live_queue.sent) == 3, "the consumer's idempotency applies it once"


def test_receive_webhook_names_a_delivery_without_identifier_by_its_body(live_queue: Queue, admin: Admin):
    connection_id, secret = admin.connection_id, admin.secret

    for _ in range(2):
        receive_webhook(api_event(connection_id, {"X-Hub-Signature": _sign(secret)}, BODY))

    ids = {parse_message(m["MessageBody"]).delivery_id for m in live_queue.sent}
    assert ids == {hashlib.sha256(BODY).hexdigest()}


def test_receive_webhook_accepts_deliveries_signed_as_jira_signs_them(live_queue: Queue, admin: Admin):
    hooks, control = live_parts(JiraSimulator(small_workspace(), email=SIM_EMAIL, api_token=SIM_TOKEN))
    url = f"{WEBHOOK_BASE}/jira/webhooks/{admin.connection_id}"
    hooks.register(url, ["jira:issue_updated"], None, kind="admin", secret=admin.secret)
    hooks.sender = receiver_sender()
    hooks.publish(control.edit_issue("ALPHA-3", summary="signed by Jira"))

    hooks.flush()

    assert [status for _, status in hooks.sent] == [202]
    assert parse_message(live_queue.sent[0]["MessageBody"]).event["issue"]["key"] == "ALPHA-3"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature": "sha256=" + "ab" * 32},
        {"X-Hub-Signature": _sign("not-the-secret")},
        {"Authorization": "Bearer " + hs256_jwt({"exp": 4_102_444_800}, "demo-oauth-client-secret")},
    ],
    ids=["missing", "forged", "wrong secret", "a JWT on an admin webhook"],
)
def test_receive_webhook_refuses_a_bad_signature_with_401_and_queues_nothing(
    live_queue: Queue, admin: Admin, headers: dict[str, str]
):
    assert _answer(api_event(admin.connection_id, headers, BODY)) == (401, UNAUTHORIZED)
    assert live_queue.sent == []
    assert LiveStore(admin.team_id).status().events_applied == 0


@pytest.mark.parametrize(
    "connection_id", ["A" * 32, "x", "../../etc", ""], ids=["unknown", "short", "path", "none"]
)
def test_receive_webhook_answers_an_unknown_connection_as_a_bad_signature(
    live_queue: Queue, admin: Admin, connection_id: str
):
    headers = {"X-Hub-Signature": _sign(admin.secret)}  # a valid signature of another connection

    assert _answer(api_event(connection_id, headers, BODY)) == (401, UNAUTHORIZED)
    assert live_queue.sent == []


def test_receive_webhook_refuses_a_connection_whose_signing_secret_is_not_stored(
    team_id: str, live_queue: Queue
):
    register_connection(
        team_id, team_site(team_id), "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN}
    )
    connection_id = uuid.uuid4().hex
    LiveStore(team_id).save_endpoint(
        connection_id, "api_token", f"{WEBHOOK_BASE}/jira/webhooks/{connection_id}"
    )

    assert _answer(api_event(connection_id, {"X-Hub-Signature": _sign("")}, BODY)) == (401, UNAUTHORIZED)
    assert live_queue.sent == []


def _dynamic(team: LiveTeam, webhook_id: int = 10001) -> str:
    """The team's endpoint, with the dynamic webhook `webhook_id` registered for it (as
    sync_registration records it); returns the connection id."""
    connection_id = _connection_id(enable_live_updates(team.team_id, base_url=WEBHOOK_BASE))
    LiveStore(team.team_id).record_registration([webhook_id], "project in (ALPHA)", None)
    return connection_id


def _bound_body(site: str, ids: list[int] | None = None) -> bytes:
    """EVENT as Jira delivers it to a dynamic webhook: the ids it matched, the site's `self` URLs."""
    issue = {**EVENT["issue"], "self": f"{site}/rest/api/3/issue/10002"}
    return json.dumps({**EVENT, "issue": issue, "matchedWebhookIds": ids or [10001]}).encode()


def _bearer(secret: str, **claims: int) -> dict[str, str]:
    now = int(time.time())
    return {"Authorization": "Bearer " + hs256_jwt({"iat": now, "exp": now + 180, **claims}, secret)}


def test_receive_webhook_checks_an_oauth_delivery_by_its_jwt(oauth_team: LiveTeam, live_queue: Queue):
    connection_id = _dynamic(oauth_team)
    secret, now = oauth_team.hooks.oauth_client_secret, int(time.time())
    body = _bound_body(team_site(oauth_team.team_id))

    def status(headers: dict[str, str]) -> int:
        return _answer(api_event(connection_id, headers, body))[0]

    assert status(_bearer(secret)) == 202
    assert status(_bearer(secret, iat=now - 3600, exp=now - 3420)) == 401
    assert status(_bearer("other-app")) == 401
    assert (
        status({"Authorization": "Bearer " + hs256_jwt({"iat": now, "exp": now + 60}, "", alg="none")}) == 401
    )
    assert status({"X-Hub-Signature": _sign(secret, body)}) == 401, "an HMAC does not sign an OAuth delivery"
    assert [parse_message(m["MessageBody"]).team_id for m in live_queue.sent] == [oauth_team.team_id]


@pytest.mark.parametrize(
    "claims",
    [{"exp": 32_503_680_000}, {"iat": int(time.time()), "exp": 32_503_680_000}],
    ids=["no iat, exp in year 3000", "exp in year 3000"],
)
def test_receive_webhook_refuses_a_jwt_made_to_last(oauth_team: LiveTeam, live_queue: Queue, claims: dict):
    connection_id = _dynamic(oauth_team)
    token = hs256_jwt(claims, oauth_team.hooks.oauth_client_secret)
    body = _bound_body(team_site(oauth_team.team_id))

    assert _answer(api_event(connection_id, {"Authorization": f"Bearer {token}"}, body)) == (
        401,
        UNAUTHORIZED,
    )
    assert live_queue.sent == []


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        _bound_body("https://acme.atlassian.net", [10001]),
        json.dumps({**EVENT, "matchedWebhookIds": [10001]}).encode(),
        b"{not json",
    ],
    ids=["no matchedWebhookIds", "another site", "no self", "not json"],
)
def test_receive_webhook_refuses_an_oauth_delivery_not_bound_to_the_connection(
    oauth_team: LiveTeam, live_queue: Queue, body: bytes
):
    connection_id = _dynamic(oauth_team)
    headers = _bearer(oauth_team.hooks.oauth_client_secret)

    assert _answer(api_event(connection_id, headers, body)) == (401, UNAUTHORIZED)
    assert live_queue.sent == []


def test_receive_webhook_refuses_a_webhook_id_registered_for_another_connection(
    oauth_team: LiveTeam, live_queue: Queue
):
    connection_id = _dynamic(oauth_team, webhook_id=10001)
    headers = _bearer(oauth_team.hooks.oauth_client_secret)
    site = team_site(oauth_team.team_id)

    assert _answer(api_event(connection_id, headers, _bound_body(site, [20001])))[0] == 401
    assert _answer(api_event(connection_id, headers, _bound_body(site, [10001, 20001])))[0] == 401
    assert live_queue.sent == []
    assert _answer(api_event(connection_id, headers, _bound_body(site, [10001])))[0] == 202


def test_receive_webhook_accepts_dynamic_deliveries_as_jira_sends_them(
    oauth_team: LiveTeam, live_queue: Queue
):
    hooks, control = oauth_team.hooks, oauth_team.control
    connection_id = _connection_id(enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE))
    url = f"{WEBHOOK_BASE}/jira/webhooks/{connection_id}"
    registration = hooks.register(url, ["jira:issue_updated"], "project = ALPHA", kind="dynamic")
    LiveStore(oauth_team.team_id).record_registration([registration.id], "project = ALPHA", None)
    hooks.sender = receiver_sender()
    hooks.publish(control.edit_issue("ALPHA-3", summary="signed by Jira"))

    hooks.flush()

    assert [status for _, status in hooks.sent] == [202]
    event = parse_message(live_queue.sent[0]["MessageBody"]).event
    assert event["matchedWebhookIds"] == [registration.id]
    assert event["issue"]["self"].startswith(team_site(oauth_team.team_id) + "/")


def test_receive_webhook_reads_the_raw_bytes_when_api_gateway_base64_encodes_them(
    live_queue: Queue, admin: Admin
):
    event = api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret)}, BODY)

    encoded = {**event, "body": base64.b64encode(BODY).decode(), "isBase64Encoded": True}
    not_base64 = {**event, "body": "not base64!", "isBase64Encoded": True}

    assert _answer(encoded)[0] == 202
    assert _answer(not_base64) == (401, UNAUTHORIZED)
    assert len(live_queue.sent) == 1


def test_receive_webhook_refuses_a_body_too_big_before_reading_it(live_queue: Queue, admin: Admin):
    body = b" " * (MAX_WEBHOOK_BYTES + 1)

    status, answer = _answer(
        api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body)
    )

    assert status == 413
    assert str(MAX_WEBHOOK_BYTES) in answer["message"]
    assert live_queue.sent == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "The webhook body is not a JSON object."),
        (b"", "The webhook body is not a JSON object."),
        (b'{"hello": "world"}', "The webhook body has no webhookEvent."),
        (b'{"webhookEvent": "jira:issue_updated"}', "The issue event has no issue id and key."),
    ],
)
def test_receive_webhook_answers_400_for_a_signed_body_that_is_not_an_event(
    live_queue: Queue, admin: Admin, body: bytes, problem: str
):
    event = api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body)
    if not body:
        event["body"] = None

    assert _answer(event) == (400, {"message": problem})
    assert live_queue.sent == []


def test_receive_webhook_queues_an_event_too_big_for_sqs_reduced_to_what_the_consumer_reads(
    live_queue: Queue, admin: Admin
):
    big = {**EVENT, "issue": {**EVENT["issue"], "fields": {"description": "x" * MAX_QUEUED_EVENT_BYTES}}}
    body = json.dumps(big).encode()

    assert (
        _answer(api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body))[0]
        == 202
    )

    event = parse_message(live_queue.sent[0]["MessageBody"]).event
    assert event["reduced"] is True
    assert event["issue"] == {"id": "10002", "key": "ALPHA-3", "fields": {"project": {"key": "ALPHA"}}}


def test_receive_webhook_lets_a_queue_failure_fail_the_delivery_for_jira_to_retry(
    live_queue: Queue, admin: Admin
):
    live_queue.fail = RuntimeError("SQS is unavailable")

    with pytest.raises(RuntimeError):
        receive_webhook(api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret)}, BODY))


def test_receive_webhook_checks_an_unknown_connection_against_a_secret_all_the_same(
    live_queue: Queue, monkeypatch: pytest.MonkeyPatch
):
    checked: list[str] = []
    real = receiver.verify_hub_signature
    monkeypatch.setattr(receiver, "verify_hub_signature", lambda s, b, h: checked.append(s) or real(s, b, h))

    receive_webhook(api_event("C" * 32, {"X-Hub-Signature": _sign("x")}, BODY))

    assert len(checked) == 1 and checked[0], "an unknown connection costs what a known one does"


def test_receive_webhook_refuses_an_endpoint_whose_team_has_no_connection(team_id: str, live_queue: Queue):
    connection_id = uuid.uuid4().hex
    LiveStore(team_id).save_endpoint(
        connection_id, "api_token", f"{WEBHOOK_BASE}/jira/webhooks/{connection_id}"
    )

    assert _answer(api_event(connection_id, {"X-Hub-Signature": _sign("")}, BODY)) == (401, UNAUTHORIZED)
    assert live_queue.sent == []


@pytest.mark.parametrize(
    "event",
    [
        {"webhookEvent": "sprint_started", "sprint": {"id": 8, "originBoardId": 1, "state": "active"}},
        {"webhookEvent": "board_created", "board": {"id": 4}},
        {"webhookEvent": "worklog_created"},
    ],
    ids=["sprint", "board", "an event kind Jira added"],
)
def test_receive_webhook_queues_every_event_kind_it_takes(live_queue: Queue, admin: Admin, event: dict):
    body = json.dumps(event).encode()

    assert (
        _answer(api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body))[0]
        == 202
    )
    assert parse_message(live_queue.sent[0]["MessageBody"]).event == event


def test_receive_webhook_answers_400_for_a_sprint_event_without_a_sprint_id(live_queue: Queue, admin: Admin):
    body = json.dumps({"webhookEvent": "sprint_started", "sprint": {"id": "8"}}).encode()

    status, answer = _answer(
        api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body)
    )

    assert (status, answer) == (400, {"message": "The sprint event has no sprint id."})


def test_receive_webhook_reduces_an_oversize_sprint_event_to_the_sprint_fields(
    live_queue: Queue, admin: Admin
):
    sprint = {"id": 8, "state": "active", "name": "S8", "originBoardId": 1, "goal": "g"}
    event = {"webhookEvent": "sprint_updated", "sprint": {**sprint, "notes": "x" * MAX_QUEUED_EVENT_BYTES}}
    body = json.dumps(event).encode()

    assert (
        _answer(api_event(admin.connection_id, {"X-Hub-Signature": _sign(admin.secret, body)}, body))[0]
        == 202
    )

    queued = parse_message(live_queue.sent[0]["MessageBody"]).event
    assert "issue" not in queued and queued["reduced"] is True
    assert {k: v for k, v in queued["sprint"].items() if v is not None} == sprint
