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
from datetime import datetime

from jira_onboarding.jira.models import JiraBoard, JiraSprint
from jira_onboarding.sprint_metrics.issues import MICROS_PER_SECOND, MetricIssue, to_micros
from jira_onboarding.sprint_metrics.report import (
    BUG_TYPES,
    CARRY_IN_GRACE_US,
    DEFAULT_CLOSED_SPRINTS,
    TREND_FLAT_BAND,
    BoardSprintMetrics,
    CarriedOverIssue,
    Count,
    CycleTime,
    SprintMetrics,
    SprintMetricsReport,
    VelocityPoint,
    VelocityTrend,
)

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


def _candidates_by_sprint(
    plan: list[tuple[JiraBoard, list[JiraSprint], list[JiraSprint]]], issues: list[MetricIssue]
) -> dict[int, list[MetricIssue]]:
    """Every issue that was ever in one of the reported sprints, per sprint, in key order (only the
    reported sprints are indexed)."""
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
    return by_sprint


def _board_metrics(
    board: JiraBoard,
    closed: list[JiraSprint],
    chosen: list[JiraSprint],
    by_sprint: dict[int, list[MetricIssue]],
    done_statuses: frozenset[str],
    now: datetime,
) -> BoardSprintMetrics:
    """One board's figures: each chosen sprint's, then the board's velocity, cycle time and shares."""
    completions = sorted((to_micros(s.complete_date), s.id) for s in closed if s.complete_date is not None)
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
    return BoardSprintMetrics(
        board_id=board.id,
        board_name=board.name,
        project_key=board.project_key,
        sprints=figures,
        velocity=velocity,
        velocity_average_points=round(statistics.fmean(v.points for v in velocity), 2) if velocity else None,
        velocity_trend=_trend([v.points for v in velocity]),
        cycle_time=_cycle_time((done_by_key[k] for k in sorted(done_by_key)), done_statuses),
        bug_share=_ratio(sum(1 for i in scope_issues if _is_bug(i)), len(scope_issues)),
        unestimated_share=_ratio(sum(1 for i in scope_issues if i.story_points is None), len(scope_issues)),
        carried_over_repeatedly=[
            CarriedOverIssue(key=key, times=len(names), sprints=names)
            for key, names in sorted(carried.items())
            if len(names) >= 2
        ],
    )


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
    by_sprint = _candidates_by_sprint(plan, issues)
    report_boards = [
        _board_metrics(board, closed, chosen, by_sprint, done_statuses, now) for board, closed, chosen in plan
    ]
    return SprintMetricsReport(computed_at=now, closed_sprints_per_board=closed_sprints, boards=report_boards)
