"""Live updates for a connection: the endpoint and what a Jira admin registers (API token), the
dynamic webhook kept in line with the selection (OAuth, on the simulator's `/rest/api/3/webhook`),
its daily refresh before expiry, and its removal on disconnect."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jira_onboarding.credentials import stored_credentials
from jira_onboarding.dal.live import LiveStore, LiveUpdateItem, get_endpoint
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.live import registration as live_registration
from jira_onboarding.logic.live.receive import receive_webhook
from jira_onboarding.logic.live.registration import (
    ADMIN_EVENTS,
    DYNAMIC_EVENTS,
    disconnect_live_updates,
    enable_live_updates,
    refresh_expiring_webhooks,
    request_registration_sync,
    sync_registration,
    webhook_url,
)
from jira_onboarding.settings import get_settings

from tests.conftest import SIM_EMAIL
from tests.unit.conftest import team_site
from tests.unit.live_support import WEBHOOK_BASE, LiveTeam, Queue, api_event, connect_simulator

REGISTER = "POST /rest/api/3/webhook"


def _connection_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _select(team: LiveTeam, keys: list[str]) -> None:
    team.repo.runs.record(f"run-{len(keys)}-{'-'.join(keys)}", keys, untrack_others=True)


@pytest.fixture
def own_live_updates_table(dynamodb_tables: None) -> Iterator[None]:
    """The live-updates table (template.yaml's definition) of this test's own: the daily refresh
    scans every team's endpoint, and the shared table holds every unit test's. Only its model is
    pointed at it (re-binding every table through the settings would reconnect every model)."""
    import boto3

    from local_harness.template import template_model

    props = template_model().resources["LiveUpdatesTable"]["Properties"]
    name = f"unit-LiveUpdatesTable-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
    )
    LiveStore("bind")  # the tables bound as the settings say, before this one is swapped in
    shared = LiveUpdateItem.Meta.table_name
    LiveUpdateItem.Meta.table_name, LiveUpdateItem._connection = name, None
    yield
    LiveUpdateItem.Meta.table_name, LiveUpdateItem._connection = shared, None
    client.delete_table(TableName=name)


def _jira_answers(
    monkeypatch: pytest.MonkeyPatch, team: LiveTeam, answers: dict[str, Any], status: int = 200
) -> None:
    """Jira as the simulator, except the endpoints `answers` names ("METHOD /path" -> JSON body)."""

    class Site:
        def __init__(self) -> None:
            self.ws = team.ws

        @property
        def httpx_handler(self) -> Any:
            def handler(request: httpx.Request) -> httpx.Response:
                key = f"{request.method} {request.url.path}"
                if key in answers:
                    return httpx.Response(status, json=answers[key], request=request)
                return team.simulator.httpx_handler(request)

            return handler

    connect_simulator(monkeypatch, Site())  # type: ignore[arg-type]


def test_enable_live_updates_hands_a_jira_admin_the_url_secret_events_and_jql(live_team: LiveTeam):
    setup = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE + "/")

    assert setup.registered_by == "jira admin"
    assert setup.webhook_url.startswith(f"{WEBHOOK_BASE}/jira/webhooks/")
    assert (setup.events, setup.jql) == (ADMIN_EVENTS, "project in (ALPHA, BETA)")
    endpoint = get_endpoint(_connection_id(setup.webhook_url))
    assert endpoint is not None and (endpoint.team_id, endpoint.auth_kind) == (live_team.team_id, "api_token")
    connection = live_team.repo.connection.get()
    assert connection is not None
    sealed = stored_credentials(live_team.team_id, connection)
    assert sealed is not None and sealed["webhook_secret"] == setup.secret
    assert sealed["api_token"], "the secret is sealed beside the API token"
    status = live_team.status()
    assert (status.enabled, status.webhook_url) == (True, setup.webhook_url)


def test_enable_live_updates_again_keeps_the_url_and_the_secret(live_team: LiveTeam):
    first = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)
    again = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)

    assert (again.webhook_url, again.secret) == (first.webhook_url, first.secret)
    assert (first.secret_unchanged, again.secret_unchanged) == (False, True)
    connection = live_team.repo.connection.get()
    assert stored_credentials(live_team.team_id, connection)["webhook_secret"] == first.secret  # type: ignore[arg-type,index]


def _register_again(team: LiveTeam, site: str, auth_kind: str = "api_token") -> None:
    credentials = (
        {"email": SIM_EMAIL, "api_token": "a-rotated-token"}
        if auth_kind == "api_token"
        else {
            "client_id": "c",
            "client_secret": "s",
            "access_token": "a",
            "refresh_token": "r",
            "expires_at": 4e9,
        }
    )
    register_connection(team.team_id, site, auth_kind, credentials)


def test_registering_the_same_site_again_keeps_the_secret_deliveries_are_signed_with(
    live_team: LiveTeam, live_queue: Queue
):
    first = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)
    _register_again(live_team, team_site(live_team.team_id))  # e.g. a rotated API token

    again = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)

    assert (again.webhook_url, again.secret, again.secret_unchanged) == (
        first.webhook_url,
        first.secret,
        True,
    )
    sealed = stored_credentials(live_team.team_id, live_team.repo.connection.get())  # type: ignore[arg-type]
    assert sealed is not None and sealed["api_token"] == "a-rotated-token", "the new credentials are stored"
    body = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10002","key":"ALPHA-3"}}'
    signature = "sha256=" + hmac.new((first.secret or "").encode(), body, hashlib.sha256).hexdigest()
    answer = receive_webhook(
        api_event(_connection_id(first.webhook_url), {"X-Hub-Signature": signature}, body)
    )
    assert answer["statusCode"] == 202, "a delivery signed with the original secret is still accepted"


@pytest.mark.parametrize(
    ("site", "auth_kind"), [("https://another-site.atlassian.net", "api_token"), (None, "oauth")]
)
def test_registering_another_site_or_as_oauth_does_not_keep_the_secret(
    live_team: LiveTeam, site: str | None, auth_kind: str
):
    first = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)
    _register_again(live_team, site or team_site(live_team.team_id), auth_kind)

    sealed = stored_credentials(live_team.team_id, live_team.repo.connection.get())  # type: ignore[arg-type]
    assert sealed is not None and "webhook_secret" not in sealed
    if auth_kind == "api_token":
        again = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)
        assert again.secret != first.secret and not again.secret_unchanged


def test_enable_live_updates_refuses_a_team_without_a_connection(team_id: str):
    with pytest.raises(ValueError, match="need a connection"):
        enable_live_updates(team_id)


def test_enable_live_updates_refuses_when_the_credentials_changed_meanwhile(
    live_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live_registration, "add_to_credentials", lambda team_id, values: False)

    with pytest.raises(ValueError, match="credentials changed"):
        enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)


def test_enable_live_updates_for_oauth_leaves_the_registration_to_the_app(oauth_team: LiveTeam):
    setup = enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)

    assert (setup.registered_by, setup.events, setup.secret) == ("app", DYNAMIC_EVENTS, None)
    assert setup.jql == "project in (ALPHA, BETA)"
    assert oauth_team.jira_calls() == 0


def test_webhook_url_falls_back_to_the_configured_base(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WEBHOOK_BASE_URL", "https://api.example.test/")
    get_settings.cache_clear()
    try:
        assert webhook_url("abc") == "https://api.example.test/jira/webhooks/abc"
        assert webhook_url("abc", "https://other.test") == "https://other.test/jira/webhooks/abc"
    finally:
        monkeypatch.delenv("WEBHOOK_BASE_URL")
        get_settings.cache_clear()


def test_sync_registration_registers_replaces_and_deletes_the_dynamic_webhook(oauth_team: LiveTeam):
    setup = enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    hooks = oauth_team.hooks

    assert sync_registration(oauth_team.team_id) == "webhook registered"
    [registered] = hooks.dynamic()
    assert (registered.url, registered.jql_filter) == (setup.webhook_url, "project in (ALPHA, BETA)")
    assert sorted(registered.events) == sorted(DYNAMIC_EVENTS)
    status = oauth_team.status()
    assert (status.webhook_ids, status.webhook_jql) == ([registered.id], registered.jql_filter)
    assert status.registration_expires_at == datetime.fromtimestamp(registered.expiration_ms / 1000, UTC)  # type: ignore[operator]

    assert sync_registration(oauth_team.team_id) == "registration up to date"
    assert len(oauth_team.simulator.calls(REGISTER)) == 1

    _select(oauth_team, ["BETA"])
    assert sync_registration(oauth_team.team_id) == "webhook registered"
    [replaced] = hooks.dynamic()
    assert replaced.id != registered.id and replaced.jql_filter == "project in (BETA)"

    _select(oauth_team, [])
    assert sync_registration(oauth_team.team_id) == "webhook deleted"
    assert hooks.dynamic() == []
    status = oauth_team.status()
    assert (status.webhook_ids, status.webhook_jql, status.registration_expires_at) == ([], None, None)


def test_sync_registration_leaves_connections_without_dynamic_webhooks_alone(
    live_team: LiveTeam, team_id: str
):
    enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)

    assert sync_registration(live_team.team_id) == "no dynamic webhook for this connection"
    assert sync_registration(f"{team_id}-never-enabled") == "no dynamic webhook for this connection"
    assert live_team.jira_calls() == 0


def test_sync_registration_raises_what_jira_refused(oauth_team: LiveTeam, monkeypatch: pytest.MonkeyPatch):
    enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    refused = {"webhookRegistrationResult": [{"errors": ["The JQL filter is not supported."]}]}
    _jira_answers(monkeypatch, oauth_team, {REGISTER: refused})

    with pytest.raises(ValueError, match="The JQL filter is not supported"):
        sync_registration(oauth_team.team_id)
    assert oauth_team.status().webhook_ids == [], "nothing recorded: the next sync tries again"


def test_sync_registration_assumes_thirty_days_when_jira_does_not_list_the_webhook(
    oauth_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    _jira_answers(monkeypatch, oauth_team, {"GET /rest/api/3/webhook": {"values": []}})

    assert sync_registration(oauth_team.team_id) == "webhook registered"

    expires = oauth_team.status().registration_expires_at
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_request_registration_sync_queues_a_message_for_the_consumer(team_id: str, live_queue: Queue):
    request_registration_sync(team_id)

    [message] = live_queue.bodies()
    assert (message["kind"], message["team_id"]) == ("sync_registration", team_id)


def test_request_registration_sync_is_best_effort(
    team_id: str, live_queue: Queue, monkeypatch: pytest.MonkeyPatch
):
    live_queue.fail = RuntimeError("SQS is unavailable")
    request_registration_sync(team_id)  # logged, not raised: the start has answered already

    live_queue.fail = None
    monkeypatch.setenv("LIVE_UPDATES_QUEUE_URL", "")
    get_settings.cache_clear()
    request_registration_sync(team_id)
    assert live_queue.sent == [], "no queue configured: nothing to send"


def test_apply_jira_events_runs_a_queued_registration_sync(oauth_team: LiveTeam):
    from jira_onboarding.logic.live.apply import apply_jira_events
    from jira_onboarding.logic.live.events import LiveMessage

    from tests.unit.live_support import sqs_event

    enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    body = LiveMessage(kind="sync_registration", team_id=oauth_team.team_id).model_dump_json()

    assert apply_jira_events(sqs_event([body]))["batchItemFailures"] == []
    assert len(oauth_team.hooks.dynamic()) == 1


def test_disconnect_live_updates_deletes_the_webhook_and_forgets_the_endpoint(oauth_team: LiveTeam):
    setup = enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    sync_registration(oauth_team.team_id)

    disconnect_live_updates(oauth_team.team_id)

    assert oauth_team.hooks.dynamic() == []
    assert get_endpoint(_connection_id(setup.webhook_url)) is None
    assert oauth_team.status().enabled is False


def test_disconnect_live_updates_forgets_the_endpoint_even_when_jira_fails(
    oauth_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    setup = enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    sync_registration(oauth_team.team_id)
    forbidden = {"errorMessages": ["The app may no longer manage webhooks."]}
    _jira_answers(monkeypatch, oauth_team, {"DELETE /rest/api/3/webhook": forbidden}, status=403)

    disconnect_live_updates(oauth_team.team_id)

    assert get_endpoint(_connection_id(setup.webhook_url)) is None
    assert len(oauth_team.hooks.dynamic()) == 1, "left to expire in Jira"


def test_disconnect_live_updates_without_a_webhook_asks_jira_nothing(live_team: LiveTeam):
    setup = enable_live_updates(live_team.team_id, base_url=WEBHOOK_BASE)

    disconnect_live_updates(live_team.team_id)

    assert get_endpoint(_connection_id(setup.webhook_url)) is None
    assert live_team.jira_calls() == 0


def test_refresh_expiring_webhooks_extends_those_expiring_within_ten_days(
    own_live_updates_table: None, oauth_team: LiveTeam
):
    enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)
    sync_registration(oauth_team.team_id)
    [hook] = oauth_team.hooks.dynamic()
    live = LiveStore(oauth_team.team_id)
    soon = datetime.now(UTC) + timedelta(days=3)
    live.record_registration([hook.id], "project in (ALPHA, BETA)", soon)

    summary = refresh_expiring_webhooks()

    assert (summary.refreshed, summary.failed) == (1, 0)
    status = live.status()
    assert status.registration_expires_at == datetime.fromtimestamp(hook.expiration_ms / 1000, UTC)  # type: ignore[operator]
    assert status.registration_expires_at > soon + timedelta(days=20)  # type: ignore[operator]
    assert status.webhook_jql == "project in (ALPHA, BETA)"
    assert len(oauth_team.simulator.calls("PUT /rest/api/3/webhook/refresh")) == 1


def test_refresh_expiring_webhooks_counts_a_failed_refresh_and_goes_on(
    own_live_updates_table: None, team_id: str
):
    soon = datetime.now(UTC) + timedelta(days=1)
    live = LiveStore(team_id)  # an endpoint whose team has no connection any more
    live.save_endpoint(uuid.uuid4().hex, "oauth", f"{WEBHOOK_BASE}/jira/webhooks/gone")
    live.record_registration([7], "project in (ALPHA)", soon)
    empty = LiveStore(f"{team_id}-no-ids")
    empty.save_endpoint(uuid.uuid4().hex, "oauth", f"{WEBHOOK_BASE}/jira/webhooks/empty")
    empty.record_registration([], None, soon)

    summary = refresh_expiring_webhooks()

    after = live.status()

    assert (summary.refreshed, summary.failed) == (0, 1), "the item without webhook ids is skipped"
    assert after.webhook_ids == [7] and after.registration_expires_at is not None, "left as it was"


def test_sync_registration_reads_the_expiry_of_its_own_webhook_among_others(oauth_team: LiveTeam):
    other = oauth_team.hooks.register(
        "https://other.test/hook", ["jira:issue_created"], "project = OPS", kind="dynamic"
    )
    other.expiration_ms = 1_000  # another app's webhook, expiring at another time
    enable_live_updates(oauth_team.team_id, base_url=WEBHOOK_BASE)

    sync_registration(oauth_team.team_id)

    ours = next(h for h in oauth_team.hooks.dynamic() if h.id != other.id)
    expires = oauth_team.status().registration_expires_at
    assert expires == datetime.fromtimestamp(ours.expiration_ms / 1000, UTC)  # type: ignore[operator]
    assert other in oauth_team.hooks.dynamic(), "left alone"
