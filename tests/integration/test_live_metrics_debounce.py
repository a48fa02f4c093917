"""Metrics after live changes are debounced per team: a burst recomputes once, at most once per
interval, and the recompute is due within the interval (<= 5 minutes) of the change."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live import metrics as live_metrics
from jira_onboarding.logic.metrics import compute as compute_module
from jira_onboarding.settings import get_settings

from local_harness.stack import LocalStack

TEAM = "team-debounce"


@pytest.fixture
def computed(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The recomputes run (the metrics themselves are tested elsewhere); the consumer is paused so
    the delayed messages stay on the queue for the test to read."""
    stack.pollers["ApplyJiraEventsFunction"].stop()
    runs: list[str] = []

    class Summary:
        snapshot_id = "snap-test"

    def fake(step: Any) -> Summary:
        runs.append(step.team_id)
        return Summary()

    monkeypatch.setattr(compute_module, "compute_metrics", fake)
    return runs


def _queued(stack: LocalStack) -> list[dict[str, Any]]:
    client = boto3.client("sqs", region_name="us-east-1")
    attributes = client.get_queue_attributes(
        QueueUrl=stack.queue_url("LiveUpdatesQueue"),
        AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"],
    )["Attributes"]
    return [attributes]


def test_live_metrics_burst_of_1000_changes_recomputes_once(stack: LocalStack, computed: list[str]):
    settings = get_settings()
    now = 1_000_000.0
    due = [live_metrics.request_refresh(TEAM, now + n * 0.001) for n in range(1000)]
    scheduled = [d for d in due if d is not None]
    assert scheduled == [now + settings.live_metrics_settle_s], (
        "the first change schedules, the rest add nothing"
    )
    delayed = _queued(stack)[0]
    assert (
        int(delayed["ApproximateNumberOfMessagesDelayed"]) + int(delayed["ApproximateNumberOfMessages"]) == 1
    )
    assert live_metrics.run_scheduled(TEAM, now=now + 1) == "not due yet"
    assert live_metrics.run_scheduled(TEAM, now=scheduled[0]) == "metrics refreshed"
    assert live_metrics.run_scheduled(TEAM, now=scheduled[0] + 1) == "nothing scheduled"
    assert computed == [TEAM]


def test_live_metrics_recompute_at_most_once_per_interval_and_within_five_minutes(
    stack: LocalStack, computed: list[str]
):
    interval = get_settings().live_metrics_interval_s
    assert interval <= 300
    first = live_metrics.request_refresh(TEAM, 2_000_000.0)
    assert first is not None
    assert live_metrics.run_scheduled(TEAM, now=first) == "metrics refreshed"
    change_at = first + 1
    second = live_metrics.request_refresh(TEAM, change_at)
    assert second == first + interval, "not sooner than the interval after the last recompute"
    assert second - change_at <= 300, "and within five minutes of the change"
    assert LiveStore(TEAM).metrics_due_at() == second
