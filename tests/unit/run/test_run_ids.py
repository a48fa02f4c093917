"""Run ids sort in the order the runs started, to the microsecond and within one second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.logic.run.ids import new_run_id

SECOND = datetime(2026, 12, 1, 21, 0, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_clock_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ids below are made for far-off instants; later ids of this process must not follow them.
    from jira_onboarding.logic.run import ids as run_ids

    monkeypatch.setattr(run_ids, "_last_micros", 0)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (SECOND, SECOND),  # the same instant twice
        (SECOND, SECOND + timedelta(microseconds=1)),
        (SECOND + timedelta(milliseconds=999), SECOND + timedelta(milliseconds=1)),  # a clock step back
        (SECOND.replace(microsecond=900_000), SECOND + timedelta(seconds=1)),
    ],
)
def test_new_run_id_of_a_later_start_sorts_after_when_started_within_a_second(
    first: datetime, second: datetime
) -> None:
    earlier = new_run_id("team-a", ["ALPHA"], now=first)
    later = new_run_id("team-a", ["ALPHA"], now=second)

    assert earlier < later


def test_new_run_id_sorts_after_an_old_format_id_of_the_same_second() -> None:
    old = f"run-{SECOND + timedelta(days=400):%Y%m%dT%H%M%S}-ffffffff"

    assert new_run_id("team-a", ["ALPHA"], now=SECOND + timedelta(days=400)) > old


def test_new_run_id_is_a_valid_execution_name() -> None:
    run_id = new_run_id("team-a", ["ALPHA", "BETA"], now=SECOND + timedelta(days=800))

    assert len(run_id) <= 80 and all(c.isalnum() or c in "-_" for c in run_id)


def test_latest_run_is_the_newer_of_two_started_in_the_same_second(team_id: str) -> None:
    from jira_onboarding.dal.runs import RunStore

    # Given two runs of one team started in the same second, the second one a selection of its own
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1000)
    runs = RunStore(team_id)
    first, second = (new_run_id(team_id, keys, now=at) for keys in (["ALPHA"], ["BETA"]))
    runs.record(first, ["ALPHA"])
    runs.record(second, ["BETA"])

    # When the latest run is read, Then it is the one started last
    latest = runs.latest()
    assert latest is not None and latest.run_id == second
