"""OAuth connections: the selection registers a dynamic webhook (`POST /rest/api/3/webhook`), its
JWT-signed deliveries are applied, sprints follow from a rate-bounded refresh of the boards whose
issues changed (dynamic webhooks send no sprint events), the registration is refreshed before its
expiry, follows the selection, and is deleted on disconnect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live.registration import disconnect_live_updates, refresh_expiring_webhooks

from jira_simulator.webhooks import DeliveryFaults
from local_harness import iam_calls
from tests.integration.live_support import TRACKED, LiveWorld, live_world, sprint_states, stored_live, truth


@pytest.fixture
def world() -> Iterator[LiveWorld]:
    """A world of this test's own (one test changes the selection and disconnects)."""
    os.environ["LIVE_SPRINT_REFRESH_SECONDS"] = "0"  # every batch refreshes the changed boards' sprints
    try:
        with live_world(
            kind="dynamic", faults=DeliveryFaults(duplicates_max=2, reorder=True), seed=3
        ) as live:
            yield live
    finally:
        os.environ.pop("LIVE_SPRINT_REFRESH_SECONDS", None)


def test_live_dynamic_selection_registers_a_webhook_within_the_documented_filter(world: LiveWorld):
    (registration,) = world.hooks.dynamic()
    assert registration.jql_filter == "project in (ALPHA, BETA)"
    assert set(registration.events) == {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"}
    status = LiveStore(world.team_id).status()
    assert status.webhook_ids == [registration.id]
    assert status.registration_expires_at is not None
    assert status.registration_expires_at > datetime.now(UTC) + timedelta(days=29)


def test_live_dynamic_deliveries_apply_and_sprints_follow_from_board_refresh(world: LiveWorld):
    control, ws = world.control, world.simulator.ws
    board = ws.project("BETA").board_id  # type: ignore[union-attr]
    active = next(s for s in ws.sprints[board] if s["state"] == "active")
    changes = control.close_sprint(active["id"])
    future = min((s for s in ws.sprints[board] if s["state"] == "future"), key=lambda s: s["id"])
    changes += control.move_to_sprint("BETA-4", future["id"])
    changes += control.start_sprint(future["id"])  # no event reaches a dynamic webhook
    changes += control.edit_issue("BETA-5", summary="after the start")  # an issue change: boards refreshed
    changes += control.create_issue("ALPHA", "created live", points=5.0)
    changes += control.delete_issue("ALPHA-7")
    world.hooks.publish(changes)
    world.deliver()
    assert stored_live(world, TRACKED) == truth(world, TRACKED)
    simulated, stored = sprint_states(world, TRACKED)
    assert stored == simulated
    scope = LiveStore(world.team_id).sprint_scopes()[future["id"]]
    assert scope["issue_keys"] == control.scope_at_start[future["id"]]["issue_keys"]


def test_live_dynamic_status_shows_live_updates_on_and_the_last_event(world: LiveWorld):
    # An event of its own: `make test`'s workers may split this file, so no earlier test's is assumed
    world.hooks.publish(world.control.edit_issue("ALPHA-3", summary="seen in the status"))
    world.deliver()
    code, _, body = world.stack.http(
        "POST", "/jira/onboarding", team_id=world.team_id, body={"project_keys": TRACKED}
    )
    assert code == 202
    code, _, status = world.stack.http("GET", body["status_url"], team_id=world.team_id)
    assert code == 200
    live = status["live_updates"]
    assert live["enabled"] is True
    assert live["last_event_at"] is not None
    assert live["registration_expires_at"] is not None
    world.stack.wait_for_executions(timeout_s=120)
    assert world.stack.drain(timeout_s=30)


def test_live_dynamic_registration_is_refreshed_before_expiry(world: LiveWorld):
    before = LiveStore(world.team_id).status().registration_expires_at
    # RefreshJiraWebhooksFunction's handler is this call on today's clock: run 25 days ahead here,
    # as the function (its AWS calls are recorded as its own for tests/infrastructure/test_iam_grants.py).
    with iam_calls.acting_as("RefreshJiraWebhooksFunction"):
        summary = refresh_expiring_webhooks(now=datetime.now(UTC) + timedelta(days=25))
    assert (summary.refreshed, summary.failed) == (1, 0)
    after = LiveStore(world.team_id).status().registration_expires_at
    assert after is not None and before is not None and after >= before
    assert world.simulator.calls("PUT /rest/api/3/webhook/refresh", status=200)
    assert refresh_expiring_webhooks().refreshed == 0  # nothing expires within ten days now


def test_live_dynamic_registration_follows_the_selection_and_is_deleted_on_disconnect(world: LiveWorld):
    code, _, _ = world.stack.http(
        "POST", "/jira/onboarding", team_id=world.team_id, body={"project_keys": ["ALPHA"]}
    )
    assert code == 202
    world.stack.wait_for_executions(timeout_s=120)
    assert world.stack.drain(timeout_s=30)
    (registration,) = world.hooks.dynamic()
    assert registration.jql_filter == "project in (ALPHA)"
    disconnect_live_updates(world.team_id)
    assert world.hooks.dynamic() == []
    assert not LiveStore(world.team_id).status().enabled
