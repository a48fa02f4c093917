"""Sprint metrics per board: the active sprint and the last N closed sprints.

Who was in a sprint when comes from the Sprint field's change history (`JiraIssue.sprint_changes`),
never from the issue's current sprints: an issue's current state cannot say whether it was committed
at the start or added later, nor that it was removed. Whether an issue was done at an instant comes
from its status history (a status whose category is done), else from its resolution date. Every
figure carries the issue keys it counts and `BASIS` says how it was counted, so a reader can check.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from jira_onboarding.dal.repository import Repository
from jira_onboarding.jira.models import JiraBoard, JiraIssue, JiraSprint
from jira_onboarding.settings import get_settings

DEFAULT_CLOSED_SPRINTS = 6
# Jira moves a closed sprint's open issues to the next sprint when it is completed, which can be
# after that next sprint's start date: an issue entering within this grace of the completion of a
# sprint it was in was carried in, and counts as committed, not as added after the start.
CARRY_IN_GRACE = timedelta(minutes=5)
BUG_TYPES = frozenset({"bug", "defect"})
TREND_FLAT_BAND = 0.05  # a slope within +-5% of the average velocity per sprint is "flat"

BASIS: dict[str, str] = {
    "membership": "Who was in a sprint at an instant: the Sprint field's change history (bulk changelog); "
    "an issue with no Sprint history counts as in its current sprints since it was created. "
    "Sub-tasks are left out (Jira's sprint report does the same).",
    "committed": "In the sprint at its start date, or carried in when the board's previous sprint was "
    f"completed (entered within {int(CARRY_IN_GRACE.total_seconds() // 60)} min of that completion).",
    "added": "Entered the sprint after its start, and not carried in.",
    "removed": "In the sprint at some point after its start, but no longer in it at its end.",
    "scope_at_end": "In the sprint at its end: completion date for a closed sprint, now for the active one.",
    "completed": "In scope at the end and in a done-category status at that instant (status history; "
    "resolution date when the issue has no status history).",
    "carried_over": "Closed sprints only: in scope at the completion date but not done.",
    "completion_rate": "completed / scope_at_end, in issues and in story points.",
    "story_points": "The issues' current estimates (board estimation field first, then the site's "
    "story-point fields); estimate changes during a sprint are not tracked. Unestimated issues count "
    "in issue figures and as 0 points.",
    "unestimated_share": "Issues in scope at the end without a story-point estimate / scope_at_end.",
    "bug_share": "Issues of type Bug in scope at the end / scope_at_end.",
    "velocity": "Completed story points per closed sprint, oldest first; average over those sprints.",
    "velocity_trend": "Least-squares slope of the velocity over the closed sprints (3 or more); 'up' or "
    f"'down' when the slope is beyond +-{int(TREND_FLAT_BAND * 100)}% of the average per sprint, else "
    "'flat'.",
    "cycle_time": "Median days over the issues completed in these sprints: first status change (leaving "
    "the initial status) to the last change into a done status, from the status changelog; issues "
    "without status history fall back to created -> resolved (counted separately).",
}


class Count(BaseModel):
    """A set of issues: how many, their story points, and which (so the figure can be checked)."""

    issues: int = 0
    points: float = 0.0
    unestimated: int = 0
    keys: list[str] = Field(default_factory=list)


class SprintMetrics(BaseModel):
    sprint_id: int
    name: str
    state: str
    start: datetime | None
    end: datetime | None  # the instant the end figures are taken at
    committed: Count
    added: Count
    removed: Count
    scope_at_end: Count
    completed: Count
    carried_over: Count | None = None  # None for the active sprint
    completion_rate_issues: float | None = None
    completion_rate_points: float | None = None
    unestimated_share: float | None = None
    bug_share: float | None = None
    issues_without_sprint_history: int = 0


class VelocityPoint(BaseModel):
    sprint_id: int
    name: str
    points: float
    issues: int


class VelocityTrend(BaseModel):
    direction: str  # up | down | flat | n/a
    slope_points_per_sprint: float | None = None
    sprints: int = 0


class CycleTime(BaseModel):
    median_days: float | None = None
    issues: int = 0
    from_status_changelog: int = 0
    from_created_resolved: int = 0
    basis: str = ""


class CarriedOverIssue(BaseModel):
    key: str
    times: int
    sprints: list[str]


class BoardSprintMetrics(BaseModel):
    board_id: int
    board_name: str = ""
    project_key: str | None = None
    sprints: list[SprintMetrics]  # closed ones oldest first, then the active one(s)
    velocity: list[VelocityPoint]
    velocity_average_points: float | None = None
    velocity_trend: VelocityTrend
    cycle_time: CycleTime
    bug_share: float | None = None
    unestimated_share: float | None = None
    carried_over_repeatedly: list[CarriedOverIssue] = Field(default_factory=list)


class SprintMetricsReport(BaseModel):
    computed_at: datetime
    closed_sprints_per_board: int
    boards: list[BoardSprintMetrics]
    basis: dict[str, str] = Field(default_factory=lambda: dict(BASIS))


# ---------------------------------------------------------------------------------- history


def in_sprint_at(issue: JiraIssue, sprint_id: int, at: datetime) -> bool:
    """Whether the issue was in the sprint at `at`, from its Sprint history."""
    if issue.created is not None and at < issue.created:
        return False
    changes = issue.sprint_changes
    if not changes:
        return sprint_id in issue.sprint_ids
    last = None
    for change in changes:
        if change.at > at:
            break
        last = change
    if last is not None:
        return sprint_id in last.sprint_ids("to")
    # Before the first change the field held the first change's "from" (since creation).
    return sprint_id in changes[0].sprint_ids("from")


def entries_into(issue: JiraIssue, sprint_id: int) -> list[datetime]:
    """When the issue entered the sprint (creation time when it was created in it, if known)."""
    if not issue.sprint_changes:
        return [issue.created] if issue.created and sprint_id in issue.sprint_ids else []
    out = []
    first = issue.sprint_changes[0]
    if sprint_id in first.sprint_ids("from") and issue.created is not None:
        out.append(issue.created)
    out += [
        c.at
        for c in issue.sprint_changes
        if sprint_id in c.sprint_ids("to") and sprint_id not in c.sprint_ids("from")
    ]
    return out


def done_at(issue: JiraIssue, at: datetime, done_statuses: frozenset[str]) -> bool:
    """Whether the issue was in a done-category status at `at`."""
    if issue.status_changes and done_statuses:
        last = None
        for change in issue.status_changes:
            if change.at > at:
                break
            last = change
        name = last.to_value if last is not None else issue.status_changes[0].from_value
        return (name or "").casefold() in done_statuses
    return issue.resolved is not None and issue.resolved <= at


def cycle_time_days(issue: JiraIssue, done_statuses: frozenset[str]) -> tuple[float | None, str]:
    """(days, "changelog" | "created_resolved" | "none") for a done issue."""
    changes = issue.status_changes
    if changes and done_statuses:
        into_done = [c.at for c in changes if (c.to_value or "").casefold() in done_statuses]
        if into_done and into_done[-1] >= changes[0].at:
            return (into_done[-1] - changes[0].at).total_seconds() / 86400, "changelog"
    if issue.created and issue.resolved and issue.resolved >= issue.created:
        return (issue.resolved - issue.created).total_seconds() / 86400, "created_resolved"
    return None, "none"


# ---------------------------------------------------------------------------------- figures


def _count(issues: Iterable[JiraIssue]) -> Count:
    chosen = sorted(issues, key=_key_order)
    return Count(
        issues=len(chosen),
        points=round(sum(i.story_points or 0.0 for i in chosen), 2),
        unestimated=sum(1 for i in chosen if i.story_points is None),
        keys=[i.key for i in chosen],
    )


def _key_order(issue: JiraIssue) -> tuple[str, int]:
    project, _, number = issue.key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _sprint_end(sprint: JiraSprint, now: datetime) -> datetime | None:
    if sprint.state == "closed":
        return sprint.complete_date or sprint.end_date
    return now if sprint.state == "active" else None


def _sprint_figures(
    sprint: JiraSprint,
    candidates: list[JiraIssue],
    previous: list[JiraSprint],
    done_statuses: frozenset[str],
    now: datetime,
) -> SprintMetrics:
    start, end = sprint.start_date, _sprint_end(sprint, now)
    committed: list[JiraIssue] = []
    added: list[JiraIssue] = []
    removed: list[JiraIssue] = []
    scope: list[JiraIssue] = []
    completed: list[JiraIssue] = []
    carried: list[JiraIssue] = []
    for issue in candidates:
        if start is None or end is None:
            continue
        at_start = in_sprint_at(issue, sprint.id, start)
        entries = [e for e in entries_into(issue, sprint.id) if start < e <= end]
        carried_in = not at_start and any(
            p.complete_date is not None
            and p.complete_date <= e <= p.complete_date + CARRY_IN_GRACE
            and in_sprint_at(issue, p.id, p.complete_date)
            for e in entries
            for p in previous
        )
        if not (at_start or entries):
            continue
        (committed if at_start or carried_in else added).append(issue)
        if not in_sprint_at(issue, sprint.id, end):
            removed.append(issue)
            continue
        scope.append(issue)
        if done_at(issue, end, done_statuses):
            completed.append(issue)
        elif sprint.state == "closed":
            carried.append(issue)
    scope_count, done_count = _count(scope), _count(completed)
    return SprintMetrics(
        sprint_id=sprint.id,
        name=sprint.name,
        state=sprint.state,
        start=start,
        end=end,
        committed=_count(committed),
        added=_count(added),
        removed=_count(removed),
        scope_at_end=scope_count,
        completed=done_count,
        carried_over=_count(carried) if sprint.state == "closed" else None,
        completion_rate_issues=_ratio(done_count.issues, scope_count.issues),
        completion_rate_points=_ratio(done_count.points, scope_count.points),
        unestimated_share=_ratio(scope_count.unestimated, scope_count.issues),
        bug_share=_ratio(sum(1 for i in scope if (i.issue_type or "").casefold() in BUG_TYPES), len(scope)),
        issues_without_sprint_history=sum(1 for i in scope if not i.sprint_changes),
    )


def _trend(values: list[float]) -> VelocityTrend:
    if len(values) < 3:
        return VelocityTrend(direction="n/a", sprints=len(values))
    xs = list(range(len(values)))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    denominator = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / denominator
    band = abs(mean_y) * TREND_FLAT_BAND
    direction = "flat" if abs(slope) <= band else ("up" if slope > 0 else "down")
    return VelocityTrend(direction=direction, slope_points_per_sprint=round(slope, 2), sprints=len(values))


def _cycle_time(issues: Iterable[JiraIssue], done_statuses: frozenset[str]) -> CycleTime:
    days: list[float] = []
    bases: dict[str, int] = defaultdict(int)
    for issue in issues:
        value, basis = cycle_time_days(issue, done_statuses)
        if value is not None:
            days.append(value)
            bases[basis] += 1
    median = round(statistics.median(days), 2) if days else None
    return CycleTime(
        median_days=median,
        issues=len(days),
        from_status_changelog=bases["changelog"],
        from_created_resolved=bases["created_resolved"],
        basis=(
            f"median of {len(days)} completed issues: {bases['changelog']} from the status changelog, "
            f"{bases['created_resolved']} from created -> resolved (no status history)"
        ),
    )


def done_status_names(issues: Iterable[JiraIssue]) -> frozenset[str]:
    """Status names in the done category, as the stored issues show them (casefolded)."""
    return frozenset(
        i.status_name.casefold() for i in issues if i.status_category == "done" and i.status_name
    )


def compute_sprint_metrics(
    boards: Iterable[JiraBoard],
    sprints: Iterable[JiraSprint],
    issues: Iterable[JiraIssue],
    *,
    now: datetime,
    closed_sprints: int = DEFAULT_CLOSED_SPRINTS,
) -> SprintMetricsReport:
    """Pure: the metrics of every board that has an active or closed sprint."""
    issues = [i for i in issues if not i.is_subtask]
    done_statuses = done_status_names(issues)
    by_sprint: dict[int, list[JiraIssue]] = defaultdict(list)
    for issue in issues:
        mentioned = set(issue.sprint_ids)
        for change in issue.sprint_changes:
            mentioned |= change.sprint_ids("from") | change.sprint_ids("to")
        for sprint_id in mentioned:
            by_sprint[sprint_id].append(issue)
    by_board: dict[int, list[JiraSprint]] = defaultdict(list)
    for sprint in sprints:
        if sprint.board_id is not None:
            by_board[sprint.board_id].append(sprint)

    by_key = {i.key: i for i in issues}  # once, not once per board: 100,000 issues x 10 boards
    report_boards = []
    for board in sorted(boards, key=lambda b: b.id):
        board_sprints = by_board.get(board.id, [])
        closed = sorted(
            (s for s in board_sprints if s.state == "closed" and s.start_date is not None),
            key=lambda s: (s.complete_date or s.end_date or s.start_date, s.id),  # type: ignore[arg-type]
        )
        active = sorted(
            (s for s in board_sprints if s.state == "active" and s.start_date is not None),
            key=lambda s: (s.start_date, s.id),  # type: ignore[arg-type]
        )
        chosen = closed[-closed_sprints:] + active
        if not chosen:
            continue
        figures = [_sprint_figures(s, by_sprint.get(s.id, []), closed, done_statuses, now) for s in chosen]
        closed_figures = [f for f in figures if f.state == "closed"]
        velocity = [
            VelocityPoint(
                sprint_id=f.sprint_id, name=f.name, points=f.completed.points, issues=f.completed.issues
            )
            for f in closed_figures
        ]
        keys_done = {k for f in figures for k in f.completed.keys}
        in_scope = {k for f in figures for k in f.scope_at_end.keys}
        carried: dict[str, list[str]] = defaultdict(list)
        for f in closed_figures:
            for key in f.carried_over.keys if f.carried_over else []:
                carried[key].append(f.name)
        scope_issues = [by_key[k] for k in sorted(in_scope) if k in by_key]
        report_boards.append(
            BoardSprintMetrics(
                board_id=board.id,
                board_name=board.name,
                project_key=board.project_key,
                sprints=figures,
                velocity=velocity,
                velocity_average_points=round(statistics.fmean(v.points for v in velocity), 2)
                if velocity
                else None,
                velocity_trend=_trend([v.points for v in velocity]),
                cycle_time=_cycle_time((by_key[k] for k in sorted(keys_done) if k in by_key), done_statuses),
                bug_share=_ratio(
                    sum(1 for i in scope_issues if (i.issue_type or "").casefold() in BUG_TYPES),
                    len(scope_issues),
                ),
                unestimated_share=_ratio(
                    sum(1 for i in scope_issues if i.story_points is None), len(scope_issues)
                ),
                carried_over_repeatedly=[
                    CarriedOverIssue(key=key, times=len(names), sprints=names)
                    for key, names in sorted(carried.items())
                    if len(names) >= 2
                ],
            )
        )
    return SprintMetricsReport(computed_at=now, closed_sprints_per_board=closed_sprints, boards=report_boards)


def get_jira_sprint_metrics(
    team_id: str, *, closed_sprints: int | None = None, now: datetime | None = None
) -> SprintMetricsReport:
    """The team's sprint metrics from what the sync stored (Queries on the team's keys only)."""
    repo = Repository(team_id)
    issues = [
        issue for project in repo.list_projects() for issue in repo.iter_issue_models(project.project_key)
    ]
    return compute_sprint_metrics(
        [board for board, _ in repo.list_boards()],
        repo.list_sprints(),
        issues,
        now=now or datetime.now(UTC),
        closed_sprints=closed_sprints or get_settings().metrics_closed_sprints,
    )
