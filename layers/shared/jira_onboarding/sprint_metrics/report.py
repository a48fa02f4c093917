"""The sprint metrics report: its models, and `BASIS`, how each figure is counted (computed in
sprints.py)."""

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

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
    "commitment_basis": "'recorded at start': the sprint's issues and points as recorded when its start "
    "was seen live (exact); 'reconstructed from history': from the Sprint field's history as above.",
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
    commitment_basis: str = "reconstructed from history"  # or "recorded at start" (see BASIS)
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
