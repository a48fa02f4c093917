"""Issues as the metrics read them: lean, immutable, and only what the figures need.

A `JiraIssue` with its `FieldChange` histories costs ~3.5 KB in memory; a team with 100,000 issues
would hold 350 MB of them. The metrics need a tenth of that: no summary, labels or people, times as
integer microseconds since the epoch (UTC; exact, and cheap to compare), and the strings and sprint-id
sets that repeat across issues (projects, statuses, types, `"12, 13"`) shared, not copied per issue.
The repository builds these straight from the stored items (`IssueStore.iter_metric_issues`), so a
`JiraIssue` is never built for the metrics.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from jira_onboarding.jira.models import FieldChange, JiraIssue

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
MICROS_PER_DAY = 86_400 * 10**6
MICROS_PER_SECOND = 10**6

# The stored attributes the metrics read (a projection: summaries, labels and people stay in DynamoDB).
STORED_ATTRIBUTES = (
    "issue_key",
    "project_key",
    "status_name",
    "status_category",
    "issue_type",
    "is_subtask",
    "story_points",
    "sprint_ids",
    "created",
    "resolved",
    "sprint_changes",
    "status_changes",
    "structure",  # for the fix versions (the release metrics)
    "deleted",
)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch, exactly (a float timestamp would round the microseconds)."""
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class SprintChange(NamedTuple):
    """One change of the Sprint field: when, and every sprint the field held before and after."""

    at: int
    from_ids: frozenset[int]
    to_ids: frozenset[int]


class StatusChange(NamedTuple):
    """One status change: when, and the status names before and after, casefolded ("" for none)."""

    at: int
    from_name: str
    to_name: str


@dataclass(frozen=True, slots=True)
class MetricIssue:
    """One issue, reduced to what the sprint metrics and the PR linkage read. Histories oldest first."""

    key: str
    project_key: str
    status_name: str | None = None
    status_category: str | None = None
    issue_type: str | None = None
    is_subtask: bool = False
    story_points: float | None = None
    sprint_ids: frozenset[int] = frozenset()
    created: int | None = None  # microseconds since the epoch
    resolved: int | None = None
    sprint_changes: tuple[SprintChange, ...] = ()
    status_changes: tuple[StatusChange, ...] = ()
    fix_version_ids: tuple[str, ...] = ()


class MetricIssueBuilder:
    """Builds `MetricIssue`s, sharing what repeats between them. One per read: its caches live as long
    as the issues it built."""

    def __init__(self) -> None:
        self._sprint_sets: dict[Any, frozenset[int]] = {}
        self._names: dict[str, str] = {}
        self._points: dict[float, float] = {}

    def from_stored(
        self,
        *,
        issue_key: str,
        project_key: str,
        status_name: str | None = None,
        status_category: str | None = None,
        issue_type: str | None = None,
        is_subtask: bool | None = False,
        story_points: float | None = None,
        sprint_ids: Iterable[float] | None = None,
        created: datetime | None = None,
        resolved: datetime | None = None,
        sprint_changes: Iterable[Mapping[str, Any]] | None = None,
        status_changes: Iterable[Mapping[str, Any]] | None = None,
        structure: Mapping[str, Any] | None = None,
    ) -> MetricIssue:
        """From an issues-table item's attributes: changes as `save_issues` stores them
        (`{"at": ISO 8601, "from": ..., "to": ...}`), sprint ids as DynamoDB numbers, the structure
        as jira/structure.py's IssueStructure dumps it."""
        sprints = self._sprint_changes(
            (datetime.fromisoformat(c["at"]), c.get("from"), c.get("to")) for c in sprint_changes or ()
        )
        statuses = self._status_changes(
            (datetime.fromisoformat(c["at"]), c.get("from"), c.get("to")) for c in status_changes or ()
        )
        return self._issue(
            issue_key,
            project_key,
            status_name,
            status_category,
            issue_type,
            bool(is_subtask),
            story_points,
            tuple(int(s) for s in sprint_ids or ()),
            created,
            resolved,
            sprints,
            statuses,
            self._versions(
                v.get("id") for v in (structure or {}).get("fix_versions") or () if isinstance(v, dict)
            ),
        )

    def from_issue(self, issue: JiraIssue) -> MetricIssue:
        """From a parsed `JiraIssue` (what the sync holds; tests build issues this way)."""
        return self._issue(
            issue.key,
            issue.project_key,
            issue.status_name,
            issue.status_category,
            issue.issue_type,
            issue.is_subtask,
            issue.story_points,
            issue.sprint_ids,
            issue.created,
            issue.resolved,
            self._sprint_changes(_raw(c) for c in issue.sprint_changes),
            self._status_changes(_raw(c) for c in issue.status_changes),
            self._versions(v.id for v in issue.structure.fix_versions),
        )

    # ---- sharing -----------------------------------------------------------------------------
    def _issue(
        self,
        key: str,
        project_key: str,
        status_name: str | None,
        status_category: str | None,
        issue_type: str | None,
        is_subtask: bool,
        story_points: float | None,
        sprint_ids: tuple[int, ...],
        created: datetime | None,
        resolved: datetime | None,
        sprint_changes: tuple[SprintChange, ...],
        status_changes: tuple[StatusChange, ...],
        fix_version_ids: tuple[str, ...] = (),
    ) -> MetricIssue:
        points = None
        if story_points is not None:
            value = float(story_points)
            points = self._points.setdefault(value, value)
        return MetricIssue(
            key=key,
            project_key=self._name(project_key),
            status_name=self._name(status_name) if status_name is not None else None,
            status_category=self._name(status_category) if status_category is not None else None,
            issue_type=self._name(issue_type) if issue_type is not None else None,
            is_subtask=is_subtask,
            story_points=points,
            sprint_ids=self._sprint_set(sprint_ids),
            created=to_micros(created) if created is not None else None,
            resolved=to_micros(resolved) if resolved is not None else None,
            sprint_changes=sprint_changes,
            status_changes=status_changes,
            fix_version_ids=fix_version_ids,
        )

    def _sprint_changes(
        self, changes: Iterable[tuple[datetime, str | None, str | None]]
    ) -> tuple[SprintChange, ...]:
        return tuple(
            SprintChange(to_micros(at), self._sprint_set(before), self._sprint_set(after))
            for at, before, after in changes
        )

    def _status_changes(
        self, changes: Iterable[tuple[datetime, str | None, str | None]]
    ) -> tuple[StatusChange, ...]:
        return tuple(
            StatusChange(
                to_micros(at), self._name((before or "").casefold()), self._name((after or "").casefold())
            )
            for at, before, after in changes
        )

    def _versions(self, ids: Iterable[Any]) -> tuple[str, ...]:
        return tuple(self._name(v) for v in ids if isinstance(v, str))

    def _name(self, value: str) -> str:
        shared = self._names.get(value)
        if shared is None:
            shared = self._names[value] = sys.intern(value)
        return shared

    def _sprint_set(self, value: str | tuple[int, ...] | None) -> frozenset[int]:
        """Sprint ids from a Sprint change's side (`"12, 13"`, as Jira writes it) or from a tuple."""
        shared = self._sprint_sets.get(value)
        if shared is None:
            if isinstance(value, tuple):
                shared = frozenset(value)
            else:
                shared = frozenset(int(part) for part in (value or "").split(",") if part.strip().isdigit())
            self._sprint_sets[value] = shared
        return shared


def _raw(change: FieldChange) -> tuple[datetime, str | None, str | None]:
    return change.at, change.from_value, change.to_value


def metric_issues(issues: Iterable[JiraIssue]) -> list[MetricIssue]:
    """Parsed issues as the metrics read them (sharing what repeats)."""
    builder = MetricIssueBuilder()
    return [builder.from_issue(issue) for issue in issues]
