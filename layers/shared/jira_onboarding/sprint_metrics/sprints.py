"""Sprint metrics per board: the active sprint and the last N closed sprints.

Who was in a sprint when comes from the Sprint field's change history (`MetricIssue.sprint_changes`),
never from the issue's current sprints: an issue's current state cannot say whether it was committed
at the start or added later, nor that it was removed. Whether an issue was done at an instant comes
from its status history (a status whose category is done), else from its resolution date. Every
figure carries the issue keys it counts and `BASIS` says how it was counted, so a reader can check.
"""

import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from jira_onboarding.jira.models import JiraBoard, JiraSprint
from jira_onboarding.sprint_metrics.issues import MICROS_PER_SECOND, MetricIssue, to_micros

DEFAULT_CLOSED_SPRINTS = 6
# Jira moves a closed sprint's open issues to the next sprint when it is completed, which can be
# after that next sprint's start date: an issue entering within this grace of the completion of a
# sprint it was in was carried in, and counts as committed, not as added after the start.
CARRY_IN_GRACE = timedelta(minutes=5)
CARRY_IN_GRACE_US = CARRY_IN_GRACE // timedelta(microseconds=1)
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


def in_sprint_at(issue: MetricIssue, sprint_id: int, at: int) -> bool:
    """Whether the issue was in the sprint at `at` (microseconds since the epoch), from its Sprint
    history."""
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
        return sprint_id in last.to_ids
    # Before the first change the field held the first change's "from" (since creation).
    return sprint_id in changes[0].from_ids


def entries_into(issue: MetricIssue, sprint_id: int) -> list[int]:
    """When the issue entered the sprint (creation time when it was created in it, if known)."""
    changes = issue.sprint_changes
    if not changes:
        return [issue.created] if issue.created is not None and sprint_id in issue.sprint_ids else []
    out = []
    if sprint_id in changes[0].from_ids and issue.created is not None:
        out.append(issue.created)
    out += [c.at for c in changes if sprint_id in c.to_ids and sprint_id not in c.from_ids]
    return out


def done_at(issue: MetricIssue, at: int, done_statuses: frozenset[str]) -> bool:
    """Whether the issue was in a done-category status at `at` (microseconds since the epoch)."""
    changes = issue.status_changes
    if changes and done_statuses:
        last = None
        for change in changes:
            if change.at > at:
                break
            last = change
        name = last.to_name if last is not None else changes[0].from_name
        return name in done_statuses
    return issue.resolved is not None and issue.resolved <= at


def cycle_time_days(issue: MetricIssue, done_statuses: frozenset[str]) -> tuple[float | None, str]:
    """(days, "changelog" | "created_resolved" | "none") for a done issue."""
    changes = issue.status_changes
    if changes and done_statuses:
        into_done = [c.at for c in changes if c.to_name in done_statuses]
        if into_done and into_done[-1] >= changes[0].at:
            return _days(into_done[-1] - changes[0].at), "changelog"
    created, resolved = issue.created, issue.resolved
    if created is not None and resolved is not None and resolved >= created:
        return _days(resolved - created), "created_resolved"
    return None, "none"


def _days(micros: int) -> float:
    # In seconds first, as timedelta.total_seconds() does: the same float, digit for digit.
    return micros / MICROS_PER_SECOND / 86400


# ---------------------------------------------------------------------------------- figures


def _count(chosen: list[MetricIssue]) -> Count:
    """`chosen` in key order (the sprint's candidates are sorted once, so every subset is too)."""
    return Count(
        issues=len(chosen),
        points=round(sum(i.story_points or 0.0 for i in chosen), 2),
        unestimated=sum(1 for i in chosen if i.story_points is None),
        keys=[i.key for i in chosen],
    )


def _key_order(issue: MetricIssue) -> tuple[str, int]:
    project, _, number = issue.key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _sprint_end(sprint: JiraSprint, now: datetime) -> datetime | None:
    if sprint.state == "closed":
        return sprint.complete_date or sprint.end_date
    return now if sprint.state == "active" else None


def _is_bug(issue: MetricIssue) -> bool:
    return (issue.issue_type or "").casefold() in BUG_TYPES


def _carried_in(issue: MetricIssue, entries: list[int], completions: list[tuple[int, int]]) -> bool:
    """Whether one of the entries came within the grace after the completion of a sprint the issue
    was in then. `completions`: (instant, sprint id) of the board's closed sprints, in time order."""
    for entry in entries:
        first = bisect_left(completions, (entry - CARRY_IN_GRACE_US,))
        for completed_at, previous_id in completions[first:]:
            if completed_at > entry:
                break
            if in_sprint_at(issue, previous_id, completed_at):
                return True
    return False


def _sprint_figures(
    sprint: JiraSprint,
    candidates: list[MetricIssue],
    completions: list[tuple[int, int]],
    done_statuses: frozenset[str],
    now: datetime,
) -> tuple[SprintMetrics, list[MetricIssue], list[MetricIssue]]:
    """The sprint's figures, with the issues in scope at its end and those completed (key order).
    `candidates`: the issues ever in the sprint, in key order; `completions`: see `_carried_in`."""
    start, end = sprint.start_date, _sprint_end(sprint, now)
    committed: list[MetricIssue] = []
    added: list[MetricIssue] = []
    removed: list[MetricIssue] = []
    scope: list[MetricIssue] = []
    completed: list[MetricIssue] = []
    carried: list[MetricIssue] = []
    if start is not None and end is not None:
        sid, start_at, end_at = sprint.id, to_micros(start), to_micros(end)
        closed = sprint.state == "closed"
        for issue in candidates:
            at_start = in_sprint_at(issue, sid, start_at)
            entries = [e for e in entries_into(issue, sid) if start_at < e <= end_at]
            if not (at_start or entries):
                continue
            carried_in = not at_start and _carried_in(issue, entries, completions)
            (committed if at_start or carried_in else added).append(issue)
            if not in_sprint_at(issue, sid, end_at):
                removed.append(issue)
                continue
            scope.append(issue)
            if done_at(issue, end_at, done_statuses):
                completed.append(issue)
            elif closed:
                carried.append(issue)
    scope_count, done_count = _count(scope), _count(completed)
    figures = SprintMetrics(
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
        bug_share=_ratio(sum(1 for i in scope if _is_bug(i)), len(scope)),
        issues_without_sprint_history=sum(1 for i in scope if not i.sprint_changes),
    )
    return figures, scope, completed


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


def _cycle_time(issues: Iterable[MetricIssue], done_statuses: frozenset[str]) -> CycleTime:
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


def done_status_names(issues: Iterable[MetricIssue]) -> frozenset[str]:
    """Status names in the done category, as the stored issues show them (casefolded)."""
    names = {i.status_name for i in issues if i.status_category == "done" and i.status_name}
    return frozenset(name.casefold() for name in names)


def _chosen_sprints(
    boards: Iterable[JiraBoard], sprints: Iterable[JiraSprint], closed_sprints: int
) -> list[tuple[JiraBoard, list[JiraSprint], list[JiraSprint]]]:
    """(board, its closed sprints oldest first, the sprints reported) for every board with some."""
    by_board: dict[int, list[JiraSprint]] = defaultdict(list)
    for sprint in sprints:
        if sprint.board_id is not None:
            by_board[sprint.board_id].append(sprint)
    plan = []
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
        if chosen:
            plan.append((board, closed, chosen))
    return plan


def compute_sprint_metrics(
    boards: Iterable[JiraBoard],
    sprints: Iterable[JiraSprint],
    issues: Iterable[MetricIssue],
    *,
    now: datetime,
    closed_sprints: int = DEFAULT_CLOSED_SPRINTS,
) -> SprintMetricsReport:
    """Pure: the metrics of every board that has an active or closed sprint."""
    issues = [i for i in issues if not i.is_subtask]
    done_statuses = done_status_names(issues)
    plan = _chosen_sprints(boards, sprints, closed_sprints)
    # Only the reported sprints' candidates are indexed: every issue that was ever in one of them.
    by_sprint: dict[int, list[MetricIssue]] = {s.id: [] for _, _, chosen in plan for s in chosen}
    candidates_of = by_sprint.get
    for issue in issues:
        mentioned = issue.sprint_ids
        for change in issue.sprint_changes:
            mentioned = mentioned.union(change.from_ids, change.to_ids)
        for sprint_id in mentioned:
            candidates = candidates_of(sprint_id)
            if candidates is not None:
                candidates.append(issue)
    for candidates in by_sprint.values():
        candidates.sort(key=_key_order)  # stable: the figures list issues in key order, ties as read

    report_boards = []
    for board, closed, chosen in plan:
        completions = sorted(
            (to_micros(s.complete_date), s.id) for s in closed if s.complete_date is not None
        )
        figures = []
        scope_by_key: dict[str, MetricIssue] = {}
        done_by_key: dict[str, MetricIssue] = {}
        for sprint in chosen:
            sprint_figures, scope, completed = _sprint_figures(
                sprint, by_sprint[sprint.id], completions, done_statuses, now
            )
            figures.append(sprint_figures)
            scope_by_key.update((i.key, i) for i in scope)
            done_by_key.update((i.key, i) for i in completed)
        closed_figures = [f for f in figures if f.state == "closed"]
        velocity = [
            VelocityPoint(
                sprint_id=f.sprint_id, name=f.name, points=f.completed.points, issues=f.completed.issues
            )
            for f in closed_figures
        ]
        carried: dict[str, list[str]] = defaultdict(list)
        for f in closed_figures:
            for key in f.carried_over.keys if f.carried_over else []:
                carried[key].append(f.name)
        scope_issues = [scope_by_key[k] for k in sorted(scope_by_key)]
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
                cycle_time=_cycle_time((done_by_key[k] for k in sorted(done_by_key)), done_statuses),
                bug_share=_ratio(sum(1 for i in scope_issues if _is_bug(i)), len(scope_issues)),
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
