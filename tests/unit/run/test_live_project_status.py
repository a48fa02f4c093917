"""The status a page polls carries each project's live events (dal/live.py, logic/run/status.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.run.status import get_run_status


def test_run_status_shows_each_projects_live_events_and_the_last_ones_time(team_id: str):
    # Given a run of two projects, and live events applied to one of them in two batches
    TeamStores(team_id).runs.record("run-1", ["ALPHA", "BETA"])
    live = LiveStore(team_id)
    first, last = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    live.record_project_events({"ALPHA": 2}, at=first)
    live.record_project_events({"ALPHA": 1}, at=last)

    # When the page polls the run's status
    projects = {p.project_key: p for p in get_run_status(team_id, "run-1").projects}

    # Then ALPHA shows its three live events and the last one's time; BETA none
    assert (projects["ALPHA"].live_events_applied, projects["ALPHA"].last_live_event_at) == (
        3,
        last.isoformat(),
    )
    assert (projects["BETA"].live_events_applied, projects["BETA"].last_live_event_at) == (0, None)
