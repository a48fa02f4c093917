"""Sprint metrics on hand-built sprints where every figure is known.

One scrum board, three closed sprints and an active one:

    S1 09-01 09:00 .. completed 09-15 12:00     S2 09-15 09:00 .. completed 09-29 10:00
    S3 09-29 09:00 .. completed 10-13 09:30     S4 10-13 09:00 .. active (now = 10-20 12:00)

    A-1 Story 3 pts (team-managed field)   in S1 before its start, done 09-10       (8 days in progress)
    A-2 Story 5 pts (company-managed)      added to S1 on 09-05, done 09-12          (6 days)
    A-3 Bug, unestimated                   in S1 before its start, removed 09-08
    A-4 Task 8 pts (company-managed)       S1, carried to S2, carried to S3, done 10-05 (30 days)
    A-5 Story, unestimated, no history     created 09-10 in S2, resolved 09-20       (10 days, fallback)
    A-6 Story 2 pts                        in S4 before its start, in progress
    A-7 Story 1 pt                         added to S4 on 10-15, done 10-18          (2 days)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jira_onboarding.jira.models import FieldChange, FieldMap, JiraBoard, JiraIssue, JiraSprint, parse_issue
from jira_onboarding.sprint_metrics.issues import metric_issues, to_micros
from jira_onboarding.sprint_metrics.report import BASIS
from jira_onboarding.sprint_metrics.sprints import compute_sprint_metrics, in_sprint_at

SPRINT_FIELD = "customfield_10021"
JSW_POINTS = "customfield_10016"  # "Story point estimate" (team-managed)
FLOAT_POINTS = "customfield_10036"  # "Story Points" (company-managed)
FIELD_MAP = FieldMap(sprint_field=SPRINT_FIELD, story_point_fields=(JSW_POINTS, FLOAT_POINTS))
NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    seconds = "" if text.count(":") == 2 else ":00"
    return datetime.fromisoformat(f"2026-{text}{seconds}+00:00")


def sprint(sid: int, state: str, start: str, complete: str | None = None) -> JiraSprint:
    return JiraSprint(
        id=sid,
        name=f"S{sid}",
        state=state,
        originBoardId=1,
        startDate=at(start),
        endDate=at(complete or "12-31T00:00"),
        completeDate=at(complete) if complete else None,
    )


SPRINTS = [
    sprint(1, "closed", "09-01T09:00", "09-15T12:00"),
    sprint(2, "closed", "09-15T09:00", "09-29T10:00"),
    sprint(3, "closed", "09-29T09:00", "10-13T09:30"),
    sprint(4, "active", "10-13T09:00"),
]
BOARD = JiraBoard(id=1, name="A board", type="scrum", project_key="A")


def sprint_moves(*moves: tuple[str, str | None, str | None]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange.model_validate({"at": at(w), "from": f, "to": t}) for w, f, t in moves)


def status_moves(*moves: tuple[str, str, str]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange.model_validate({"at": at(w), "from": f, "to": t}) for w, f, t in moves)


def issue(
    key: str,
    *,
    type_: str = "Story",
    points: tuple[str, float] | None = None,
    created: str,
    resolved: str | None = None,
    status: str = "To Do",
    sprint_ids: tuple[int, ...] = (),
    sprints: tuple[FieldChange, ...] = (),
    statuses: tuple[FieldChange, ...] = (),
) -> JiraIssue:
    """Through the real payload parser, so both story-point fields are read as in production."""
    category = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}[status]
    fields: dict[str, Any] = {
        "summary": key,
        "status": {"name": status, "statusCategory": {"key": category}},
        "issuetype": {"name": type_, "subtask": False},
        "project": {"key": "A"},
        "created": at(created).isoformat(),
        "resolutiondate": at(resolved).isoformat() if resolved else None,
        SPRINT_FIELD: [{"id": s, "name": f"S{s}"} for s in sprint_ids] or None,
    }
    if points:
        fields[points[0]] = points[1]
    parsed = parse_issue({"id": str(100 + int(key.split("-")[1])), "key": key, "fields": fields}, FIELD_MAP)
    return parsed.model_copy(update={"sprint_changes": sprints, "status_changes": statuses})


ISSUES = [
    issue(
        "A-1",
        points=(JSW_POINTS, 3),
        created="08-29T10:00",
        resolved="09-10T10:00",
        status="Done",
        sprint_ids=(1,),
        sprints=sprint_moves(("08-30T10:00", None, "1")),
        statuses=status_moves(
            ("09-02T10:00", "To Do", "In Progress"), ("09-10T10:00", "In Progress", "Done")
        ),
    ),
    issue(
        "A-2",
        points=(FLOAT_POINTS, 5),
        created="09-04T10:00",
        resolved="09-12T10:00",
        status="Done",
        sprint_ids=(1,),
        sprints=sprint_moves(("09-05T10:00", None, "1")),
        statuses=status_moves(
            ("09-06T10:00", "To Do", "In Progress"), ("09-12T10:00", "In Progress", "Done")
        ),
    ),
    issue(
        "A-3",
        type_="Bug",
        created="08-20T10:00",
        sprints=sprint_moves(("08-30T11:00", None, "1"), ("09-08T10:00", "1", None)),
    ),
    issue(
        "A-4",
        type_="Task",
        points=(FLOAT_POINTS, 8),
        created="08-27T10:00",
        resolved="10-05T10:00",
        status="Done",
        sprint_ids=(1, 2, 3),
        sprints=sprint_moves(
            ("08-28T10:00", None, "1"),
            ("09-15T12:00:01", "1", "1, 2"),
            ("09-29T10:00", "1, 2", "1, 2, 3"),
        ),
        statuses=status_moves(
            ("09-05T10:00", "To Do", "In Progress"), ("10-05T10:00", "In Progress", "Done")
        ),
    ),
    issue("A-5", created="09-10T10:00", resolved="09-20T10:00", status="Done", sprint_ids=(2,)),
    issue(
        "A-6",
        points=(JSW_POINTS, 2),
        created="10-10T10:00",
        status="In Progress",
        sprint_ids=(4,),
        sprints=sprint_moves(("10-11T10:00", None, "4")),
        statuses=status_moves(("10-14T10:00", "To Do", "In Progress")),
    ),
    issue(
        "A-7",
        points=(JSW_POINTS, 1),
        created="10-14T10:00",
        resolved="10-18T10:00",
        status="Done",
        sprint_ids=(4,),
        sprints=sprint_moves(("10-15T10:00", None, "4")),
        statuses=status_moves(
            ("10-16T10:00", "To Do", "In Progress"), ("10-18T10:00", "In Progress", "Done")
        ),
    ),
]


# What the metrics read: the lean issues (the repository builds them from the stored items).
LEAN = metric_issues(ISSUES)


@pytest.fixture(scope="module")
def board():
    report = compute_sprint_metrics([BOARD], SPRINTS, LEAN, now=NOW, closed_sprints=6)
    assert len(report.boards) == 1
    return report.boards[0]


def by_name(board, name):
    return next(s for s in board.sprints if s.name == name)


def test_sprint_metrics_reads_both_story_point_fields():
    # Given issues estimated in the team-managed and in the company-managed field
    points = {i.key: i.story_points for i in ISSUES}

    # Then both are read, and an issue with neither is unestimated
    assert points == {"A-1": 3, "A-2": 5, "A-3": None, "A-4": 8, "A-5": None, "A-6": 2, "A-7": 1}


def test_sprint_metrics_commitment_comes_from_sprint_history_not_current_state(board):
    # Given A-3 is in no sprint today but was in S1 at its start, and A-2 is in S1 but joined late
    s1 = by_name(board, "S1")

    # Then S1's commitment is what the Sprint field held at the start
    assert s1.committed.keys == ["A-1", "A-3", "A-4"]
    assert (s1.committed.issues, s1.committed.points, s1.committed.unestimated) == (3, 11, 1)
    assert s1.added.keys == ["A-2"] and s1.added.points == 5
    assert s1.removed.keys == ["A-3"]


def test_sprint_metrics_closed_sprint_figures_are_exact(board):
    s1 = by_name(board, "S1")

    assert s1.scope_at_end.keys == ["A-1", "A-2", "A-4"] and s1.scope_at_end.points == 16
    assert s1.completed.keys == ["A-1", "A-2"] and s1.completed.points == 8
    assert s1.carried_over.keys == ["A-4"] and s1.carried_over.points == 8
    assert s1.completion_rate_issues == pytest.approx(0.667)
    assert s1.completion_rate_points == 0.5
    assert s1.unestimated_share == 0
    assert s1.bug_share == 0  # the only bug was removed before the end


def test_sprint_metrics_issue_carried_over_twice_is_committed_in_each_next_sprint(board):
    s2, s3 = by_name(board, "S2"), by_name(board, "S3")

    # A-4 entered S2 and S3 just after the previous sprint's completion, after their start dates:
    # carried in, so committed, not "added after start"
    assert s2.committed.keys == ["A-4", "A-5"] and s2.added.issues == 0
    assert s2.carried_over.keys == ["A-4"]
    assert s3.committed.keys == ["A-4"] and s3.added.issues == 0
    assert s3.completed.keys == ["A-4"] and s3.completion_rate_issues == 1.0
    assert [(c.key, c.times, c.sprints) for c in board.carried_over_repeatedly] == [("A-4", 2, ["S1", "S2"])]


def test_sprint_metrics_unestimated_issue_counts_in_issues_not_points(board):
    s2 = by_name(board, "S2")

    # A-5 has no estimate (and no Sprint history: it counts from its creation, before S2 started)
    assert s2.completed.keys == ["A-5"] and s2.completed.points == 0
    assert s2.completion_rate_issues == 0.5 and s2.completion_rate_points == 0.0
    assert s2.unestimated_share == 0.5
    assert s2.issues_without_sprint_history == 1


def test_sprint_metrics_active_sprint_has_no_carry_over(board):
    s4 = by_name(board, "S4")

    assert s4.state == "active" and s4.end == NOW
    assert s4.committed.keys == ["A-6"] and s4.added.keys == ["A-7"]
    assert s4.completed.keys == ["A-7"]
    assert s4.carried_over is None
    assert s4.completion_rate_points == pytest.approx(0.333)


def test_sprint_metrics_velocity_and_trend(board):
    assert [(v.name, v.points) for v in board.velocity] == [("S1", 8), ("S2", 0), ("S3", 8)]
    assert board.velocity_average_points == pytest.approx(5.33)
    assert board.velocity_trend.direction == "flat"
    assert board.velocity_trend.slope_points_per_sprint == 0


def test_sprint_metrics_cycle_time_uses_changelog_and_states_the_fallback(board):
    # 8, 6, 30, 2 days from the status changelog; A-5 10 days from created -> resolved
    assert board.cycle_time.median_days == 8
    assert board.cycle_time.from_status_changelog == 4
    assert board.cycle_time.from_created_resolved == 1
    assert "created -> resolved" in board.cycle_time.basis


def test_sprint_metrics_board_shares_over_the_sprints_scope(board):
    # scope at the end over all sprints, A-7 (A-3 was removed)
    assert board.bug_share == 0
    assert board.unestimated_share == pytest.approx(round(1 / 6, 3))


def test_sprint_metrics_limits_closed_sprints_to_the_last_n():
    report = compute_sprint_metrics([BOARD], SPRINTS, LEAN, now=NOW, closed_sprints=2)

    assert [s.name for s in report.boards[0].sprints] == ["S2", "S3", "S4"]
    assert report.boards[0].velocity_trend.direction == "n/a"  # fewer than 3 closed sprints


def test_sprint_metrics_report_states_the_basis_of_every_figure():
    report = compute_sprint_metrics([BOARD], SPRINTS, LEAN, now=NOW)

    for figure in (
        "committed",
        "added",
        "removed",
        "completed",
        "carried_over",
        "completion_rate",
        "velocity",
        "velocity_trend",
        "cycle_time",
        "bug_share",
        "unestimated_share",
    ):
        assert report.basis[figure] == BASIS[figure]


def test_sprint_metrics_skips_boards_without_sprints_and_subtasks():
    kanban = JiraBoard(id=9, name="K", type="kanban")
    subtask = ISSUES[0].model_copy(update={"key": "A-99", "is_subtask": True})

    report = compute_sprint_metrics([BOARD, kanban], SPRINTS, metric_issues([*ISSUES, subtask]), now=NOW)

    assert [b.board_id for b in report.boards] == [1]
    assert "A-99" not in by_name(report.boards[0], "S1").committed.keys


def test_in_sprint_at_reads_the_field_before_its_first_change():
    # Given an issue created in S1 whose first recorded change moved it from S1 to S2
    parsed = ISSUES[0].model_copy(update={"sprint_changes": sprint_moves(("09-03T10:00", "1", "2"))})
    [moved] = metric_issues([parsed])

    assert in_sprint_at(moved, 1, to_micros(at("09-01T09:00"))) is True
    assert in_sprint_at(moved, 1, to_micros(at("09-04T00:00"))) is False
    assert in_sprint_at(moved, 1, to_micros(at("08-01T00:00"))) is False  # before it was created
