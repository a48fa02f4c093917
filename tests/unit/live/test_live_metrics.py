"""The debounced metrics recompute after live changes: a burst schedules one delayed message, the
message recomputes once when due, never sooner than the interval after the previous recompute.
The recompute itself (compute_metrics) is replaced by a recorder: its own tests are elsewhere."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live.metrics import LIVE_RUN_ID, request_refresh, run_scheduled
from jira_onboarding.logic.live.queue import SQS_MAX_DELAY_S
from jira_onboarding.logic.metrics import compute as compute_module
from jira_onboarding.settings import get_settings

from tests.unit.live_support import Queue

NOW = 1_800_000_000.0


class Recompute:
    def __init__(self) -> None:
        self.inputs: list[Any] = []
        self.fail: Exception | None = None

    def __call__(self, step: Any) -> Any:
        self.inputs.append(step)
        if self.fail is not None:
            raise self.fail
        return type("Summary", (), {"snapshot_id": f"snap-{len(self.inputs)}"})()


@pytest.fixture
def recompute(monkeypatch: pytest.MonkeyPatch) -> Recompute:
    recorder = Recompute()
    monkeypatch.setattr(compute_module, "compute_metrics", recorder)
    return recorder


def _refresh_messages(queue: Queue) -> list[tuple[dict[str, Any], int]]:
    return [(json.loads(m["MessageBody"]), m["DelaySeconds"]) for m in queue.sent]


def test_request_refresh_schedules_one_recompute_for_a_burst_of_changes(team_id: str, live_queue: Queue):
    settle = get_settings().live_metrics_settle_s

    due = request_refresh(team_id, NOW)
    later = [request_refresh(team_id, NOW + n) for n in range(1, 10)]

    assert due == NOW + settle, "no recompute before: due once the change settles"
    assert later == [None] * 9
    [(body, delay)] = _refresh_messages(live_queue)
    assert (body["kind"], body["team_id"]) == ("refresh_metrics", team_id)
    assert delay == pytest.approx(due - NOW, abs=1)


def test_request_refresh_is_due_no_sooner_than_the_interval_after_the_last_recompute(
    team_id: str, live_queue: Queue, recompute: Recompute
):
    interval = get_settings().live_metrics_interval_s
    request_refresh(team_id, NOW)
    assert run_scheduled(team_id, now=NOW + interval) == "metrics refreshed"

    due = request_refresh(team_id, NOW + interval + 1)

    assert due == NOW + 2 * interval, "the next recompute waits for the interval"
    assert _refresh_messages(live_queue)[-1][1] == interval - 1


def test_request_refresh_delays_the_message_at_most_what_sqs_allows(
    team_id: str, live_queue: Queue, settings_env: Any
):
    store = LiveStore(team_id)
    store.schedule_metrics(NOW, 0, 0)
    store.claim_metrics(NOW + 5000)  # a recompute far in the "future" of NOW
    settings_env(LIVE_METRICS_INTERVAL_SECONDS="300")

    due = request_refresh(team_id, NOW)

    assert due == NOW + 5300
    assert _refresh_messages(live_queue)[-1][1] == SQS_MAX_DELAY_S


def test_run_scheduled_recomputes_once_when_due(team_id: str, live_queue: Queue, recompute: Recompute):
    due = request_refresh(team_id, NOW)
    assert due is not None

    first = run_scheduled(team_id, now=due)
    again = run_scheduled(team_id, now=due + 1)  # the same message delivered twice

    assert (first, again) == ("metrics refreshed", "nothing scheduled")
    [step] = recompute.inputs
    assert (step.team_id, step.run_id) == (team_id, LIVE_RUN_ID)
    assert LiveStore(team_id).metrics_due_at() is None


def test_run_scheduled_waits_again_when_the_message_comes_early(
    team_id: str, live_queue: Queue, recompute: Recompute
):
    due = request_refresh(team_id, NOW)
    assert due is not None

    assert run_scheduled(team_id, now=due - 30) == "not due yet"

    assert recompute.inputs == []
    body, delay = _refresh_messages(live_queue)[-1]
    assert (body["kind"], delay) == ("refresh_metrics", 30)
    assert LiveStore(team_id).metrics_due_at() == due, "still scheduled"


def test_run_scheduled_leaves_the_recompute_to_the_consumer_that_claimed_it(
    team_id: str, live_queue: Queue, recompute: Recompute, monkeypatch: pytest.MonkeyPatch
):
    due = request_refresh(team_id, NOW)
    assert due is not None
    read_due = LiveStore.metrics_due_at

    def read_then_lose_the_race(store: LiveStore) -> float | None:
        value = read_due(store)
        assert LiveStore(team_id).claim_metrics(due)  # another consumer, between the read and the claim
        return value

    monkeypatch.setattr(LiveStore, "metrics_due_at", read_then_lose_the_race)

    assert run_scheduled(team_id, now=due) == "taken by another consumer"
    assert recompute.inputs == []


def test_run_scheduled_makes_a_failed_recompute_due_again_for_the_redelivery(
    team_id: str, live_queue: Queue, recompute: Recompute
):
    due = request_refresh(team_id, NOW)
    assert due is not None
    recompute.fail = RuntimeError("the metrics store is down")

    with pytest.raises(RuntimeError):
        run_scheduled(team_id, now=due)
    recompute.fail = None
    redelivered = run_scheduled(team_id, now=due + 1)

    assert redelivered == "metrics refreshed"
    assert len(recompute.inputs) == 2


def test_run_scheduled_does_nothing_when_nothing_is_scheduled(team_id: str, recompute: Recompute):
    assert run_scheduled(team_id) == "nothing scheduled"
    assert recompute.inputs == []


def test_apply_jira_events_recomputes_when_the_delayed_message_arrives(
    team_id: str, live_queue: Queue, recompute: Recompute
):
    from jira_onboarding.logic.live.apply import apply_jira_events

    from tests.unit.live_support import sqs_event

    request_refresh(team_id, time.time() - 600)  # the change settled long ago
    [message] = live_queue.sent

    answer = apply_jira_events(sqs_event([message["MessageBody"], message["MessageBody"]]))

    assert answer["batchItemFailures"] == []
    assert len(recompute.inputs) == 1, "the duplicate finds nothing scheduled"
