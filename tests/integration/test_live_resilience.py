"""Live updates under failure: a consumer that crashes mid-batch, a poison message, dropped
and a sprint started live (its commitment recorded)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.metrics.compute import team_sprint_metrics

from jira_simulator.webhooks import DeliveryFaults
from local_harness.template import template_model
from tests.integration.live_support import TRACKED, LiveWorld, live_world, stored_live, truth


@pytest.fixture(scope="module")
def world() -> Iterator[LiveWorld]:
    with live_world(faults=DeliveryFaults(duplicates_max=3, reorder=True), seed=11) as live:
        yield live


def _dead_letter_depth(world: LiveWorld) -> int:
    """The metric the template's dead-letter alarm watches, read from the queue it names."""
    alarm = template_model().resources["LiveUpdatesDeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    queue = alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
    # CloudWatch's ApproximateNumberOfMessagesVisible is the queue's ApproximateNumberOfMessages.
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=world.stack.queue_url(queue), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_live_consumer_crash_mid_batch_is_redelivered_without_loss_or_double(world: LiveWorld):
    from jira_onboarding.logic.live import apply as apply_events

    crashed: dict[str, Any] = {"applied": 0, "crashes": 0}
    real_apply = apply_events.apply_message

    def crash_after_two(message: Any, team: Any) -> str:
        crashed["applied"] += 1
        if crashed["crashes"] == 0 and crashed["applied"] > 2:
            crashed["crashes"] += 1
            raise RuntimeError("the execution environment died mid-batch")
        return real_apply(message, team)

    def hook(handler: Any, event: dict, context: Any) -> Any:
        apply_events.apply_message = crash_after_two
        try:
            answer = handler(event, context)
        finally:
            apply_events.apply_message = real_apply
        if crashed["crashes"] == 1 and not crashed.get("raised"):
            crashed["raised"] = True
            raise RuntimeError("the consumer crashed before answering")  # the whole batch comes back
        return answer

    world.stack.dispatch_hooks["ApplyJiraEventsFunction"] = hook
    try:
        for n in range(1, 9):
            world.hooks.publish(world.control.edit_issue(f"ALPHA-{n}", summary=f"crash test {n}"))
        world.deliver()
    finally:
        world.stack.dispatch_hooks.pop("ApplyJiraEventsFunction")
    assert crashed["raised"]
    assert stored_live(world, TRACKED) == truth(world, TRACKED)


def test_live_poison_message_is_dead_lettered_and_the_alarm_metric_moves(world: LiveWorld):
    before = _dead_letter_depth(world)
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=world.stack.queue_url("LiveUpdatesQueue"), MessageBody="{not a live-update message"
    )
    deadline = time.monotonic() + 30
    while _dead_letter_depth(world) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _dead_letter_depth(world) == before + 1
    assert world.stack.drain(timeout_s=10)


def test_live_sprint_started_live_has_exact_commitment_recorded_at_start(world: LiveWorld):
    control, ws = world.control, world.simulator.ws
    board = ws.project("ALPHA").board_id  # type: ignore[union-attr]
    active = next(s for s in ws.sprints[board] if s["state"] == "active")
    changes = control.close_sprint(active["id"])
    future = min((s for s in ws.sprints[board] if s["state"] == "future"), key=lambda s: s["id"])
    for n in (10, 11, 12):
        changes += control.move_to_sprint(f"ALPHA-{n}", future["id"])
    changes += control.start_sprint(future["id"])
    changes += control.move_to_sprint("ALPHA-13", future["id"])  # added after the start: not committed
    world.hooks.publish(changes)
    world.deliver()
    truth_scope = control.scope_at_start[future["id"]]
    assert "ALPHA-13" not in truth_scope["issue_keys"]
    recorded = LiveStore(world.team_id).sprint_scopes()[future["id"]]
    assert recorded["issue_keys"] == truth_scope["issue_keys"]
    assert recorded["points"] == truth_scope["points"]
    repo = TeamStores(world.team_id)
    report = team_sprint_metrics(repo, repo.issues.list_metric_issues(TRACKED), now=datetime.now(UTC))
    sprint = next(s for b in report.boards for s in b.sprints if s.sprint_id == future["id"])
    assert sprint.commitment_basis == "recorded at start"
    assert sprint.committed.keys == sorted(truth_scope["issue_keys"], key=lambda k: int(k.split("-")[1]))
    assert sprint.committed.points == round(truth_scope["points"], 2)


def test_live_update_of_an_issue_deleted_meanwhile_leaves_a_tombstone_and_the_rest_applied(world: LiveWorld):
    control = world.control
    changes = control.edit_issue("ALPHA-20", summary="edited, then deleted")
    changes += control.edit_issue("ALPHA-21", summary="edited and kept")
    changes += control.delete_issue("ALPHA-20")  # Jira now refuses `id in (...)` naming it
    world.hooks.publish(changes)
    world.deliver()
    stored = world.stored()
    assert stored["ALPHA-20"]["deleted"] is True
    assert stored["ALPHA-21"]["summary"] == "edited and kept"
    assert stored_live(world, TRACKED) == truth(world, TRACKED)
    assert world.simulator.calls("POST /rest/api/3/search/jql", status=400), "the refused query was split"
