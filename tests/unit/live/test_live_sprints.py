"""Sprints under live updates: a sprint event stores the sprint as Jira has it now, a sprint seen
turning active gets its scope recorded at start (issues added later left out), and the boards of
changed projects are refreshed at most once per interval (board 1 is ALPHA's: sprints 6 closed,
7 active, 8 future)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live import sprints as live_sprints
from jira_onboarding.logic.live.apply import apply_jira_events
from jira_onboarding.logic.live.sprints import apply_sprint_event, refresh_changed_boards
from jira_onboarding.logic.live.team_batch import TeamBatch

from tests.unit.live_support import LiveTeam, onboard

SPRINT_GET = "GET /rest/agile/1.0/sprint/{sprintId}"
BOARD_SPRINTS = "GET /rest/agile/1.0/board/{boardId}/sprint"


def _batch(team: LiveTeam, *changed: str) -> TeamBatch:
    tracked = {p.project_key: p for p in team.repo.projects.list_tracked() if p.selected}
    return TeamBatch(team.team_id, tracked=tracked, changed_projects=set(changed))


def _sprint_states(team: LiveTeam) -> dict[int, str]:
    return {s.id: s.state for s in team.repo.boards.list_sprints(board_id=1)}


def test_apply_sprint_event_records_the_scope_of_a_sprint_seen_starting(live_team: LiveTeam):
    control = live_team.control
    for key in ("ALPHA-1", "ALPHA-5", "ALPHA-10"):
        control.move_to_sprint(key, 8)
    [started] = control.start_sprint(8)
    control.move_to_sprint("ALPHA-12", 8)  # added after the start: not committed

    outcome = apply_sprint_event(_batch(live_team), started.payload)

    assert outcome == "sprint started"
    assert _sprint_states(live_team)[8] == "active"
    truth = control.scope_at_start[8]
    recorded = LiveStore(live_team.team_id).sprint_scopes()[8]
    assert recorded["issue_keys"] == truth["issue_keys"] == ["ALPHA-1", "ALPHA-10", "ALPHA-5"]
    assert recorded["points"] == truth["points"]
    assert recorded["unestimated"] == 3, "ALPHA-1, -5 and -10 have no estimate"


def test_apply_sprint_event_keeps_the_first_scope_when_the_start_is_delivered_again(live_team: LiveTeam):
    control = live_team.control
    control.move_to_sprint("ALPHA-1", 8)
    [started] = control.start_sprint(8)
    apply_sprint_event(_batch(live_team), started.payload)
    control.move_to_sprint("ALPHA-5", 8)

    again = apply_sprint_event(_batch(live_team), started.payload)

    assert again == "sprint stored"
    assert LiveStore(live_team.team_id).sprint_scopes()[8]["issue_keys"] == ["ALPHA-1"]


def test_apply_sprint_event_stores_jiras_state_not_the_late_payload(live_team: LiveTeam):
    [started] = live_team.control.start_sprint(8)
    live_team.control.close_sprint(8)  # closed before the start event is applied

    outcome = apply_sprint_event(_batch(live_team), started.payload)

    assert outcome == "sprint stored"
    assert _sprint_states(live_team)[8] == "closed"
    assert 8 not in LiveStore(live_team.team_id).sprint_scopes(), "never seen active: no scope"


def test_apply_sprint_event_says_gone_for_a_sprint_jira_no_longer_has(live_team: LiveTeam):
    outcome = apply_sprint_event(_batch(live_team), {"sprint": {"id": 999, "originBoardId": 1}})

    assert outcome == "sprint gone"
    assert 999 not in _sprint_states(live_team)


@pytest.mark.parametrize("board_id", [3, 42, None, "1"], ids=["untracked", "unknown", "missing", "not an id"])
def test_apply_sprint_event_drops_a_sprint_of_a_board_not_tracked_without_asking_jira(
    live_team: LiveTeam, board_id: object
):
    outcome = apply_sprint_event(_batch(live_team), {"sprint": {"id": 7, "originBoardId": board_id}})

    assert outcome == "dropped: board not tracked"
    assert live_team.jira_calls() == 0


def test_apply_jira_events_counts_sprint_events_applied_and_dropped(live_team: LiveTeam):
    live_team.enable_admin_webhook()
    changes = live_team.control.start_sprint(8)
    other = {"webhookEvent": "sprint_updated", "sprint": {"id": 1, "originBoardId": 42}}
    records = live_team.record(changes)
    records += live_team.record([type(changes[0])("sprint_updated", other)])

    answer = apply_jira_events({"Records": records})

    assert answer["batchItemFailures"] == []
    status = live_team.status()
    assert (status.events_applied, status.events_dropped) == (1, 1)
    assert _sprint_states(live_team)[8] == "active"


def test_refresh_changed_boards_stores_the_sprints_of_changed_projects_once_per_interval(
    live_team: LiveTeam,
):
    live_team.control.close_sprint(7)
    team = _batch(live_team, "ALPHA")

    first = refresh_changed_boards(team)
    again = refresh_changed_boards(team)

    assert (first, again) == (1, 0)
    assert _sprint_states(live_team)[7] == "closed"
    assert live_team.jira_calls(BOARD_SPRINTS) == 1
    assert team.jira_calls == 1


def test_refresh_changed_boards_records_the_scope_of_a_sprint_it_sees_turning_active(
    live_team: LiveTeam,
):
    live_team.control.move_to_sprint("ALPHA-1", 8)
    live_team.control.start_sprint(8)

    assert refresh_changed_boards(_batch(live_team, "ALPHA")) == 1

    assert LiveStore(live_team.team_id).sprint_scopes()[8]["issue_keys"] == ["ALPHA-1"]


def test_refresh_changed_boards_refreshes_again_once_the_interval_has_passed(
    live_team: LiveTeam, settings_env: Any
):
    settings_env(LIVE_SPRINT_REFRESH_SECONDS="0")
    team = _batch(live_team, "BETA")

    assert [refresh_changed_boards(team) for _ in range(2)] == [1, 1]


def test_refresh_changed_boards_skips_projects_without_a_scrum_board(live_team: LiveTeam):
    onboard(live_team.team_id, live_team.ws, ("OPS",))  # a kanban board: no sprints

    assert refresh_changed_boards(_batch(live_team, "OPS")) == 0
    assert live_team.jira_calls() == 0


def test_refresh_changed_boards_does_nothing_without_changed_projects(live_team: LiveTeam):
    assert refresh_changed_boards(_batch(live_team)) == 0
    assert live_team.jira_calls() == 0


def test_apply_sprint_event_reads_a_sprint_of_many_pages_whole(
    live_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live_sprints, "SCOPE_PAGE_SIZE", 1)
    for key in ("ALPHA-1", "ALPHA-2", "ALPHA-3"):
        live_team.control.move_to_sprint(key, 8)
    [started] = live_team.control.start_sprint(8)

    assert apply_sprint_event(_batch(live_team), started.payload) == "sprint started"

    assert LiveStore(live_team.team_id).sprint_scopes()[8]["issue_keys"] == ["ALPHA-1", "ALPHA-2", "ALPHA-3"]
    assert live_team.jira_calls("POST /rest/api/3/search/jql") == 3


def test_apply_sprint_event_keeps_the_scope_another_consumer_recorded_first(live_team: LiveTeam):
    live_team.control.move_to_sprint("ALPHA-1", 8)
    [started] = live_team.control.start_sprint(8)
    first = datetime.now(UTC)
    LiveStore(live_team.team_id).record_sprint_scope(8, ["ALPHA-1"], 0.0, 1, first)

    assert apply_sprint_event(_batch(live_team), started.payload) == "sprint stored"

    assert LiveStore(live_team.team_id).sprint_scopes()[8]["recorded_at"] == first.isoformat()


def test_apply_sprint_event_failing_while_recording_the_scope_records_it_when_the_event_is_retried(
    live_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    # Given a sprint start whose first application fails while reading the scope (Jira, a crash)
    control = live_team.control
    control.move_to_sprint("ALPHA-1", 8)
    [started] = control.start_sprint(8)
    record = live_sprints.record_scope_at_start

    def failing(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the scope's search failed")

    monkeypatch.setattr(live_sprints, "record_scope_at_start", failing)
    with pytest.raises(RuntimeError):
        apply_sprint_event(_batch(live_team), started.payload)
    monkeypatch.setattr(live_sprints, "record_scope_at_start", record)

    # When the event is delivered again (SQS redelivers a failed record)
    outcome = apply_sprint_event(_batch(live_team), started.payload)

    # Then the retry sees the sprint turn active and records its scope
    assert outcome == "sprint started"
    assert LiveStore(live_team.team_id).sprint_scopes()[8]["issue_keys"] == ["ALPHA-1"]
    assert _sprint_states(live_team)[8] == "active"
