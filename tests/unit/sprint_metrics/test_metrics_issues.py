"""The lean issues the metrics read: the same from a stored item as from the parsed issue, exact
times, and repeated values shared rather than copied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jira_onboarding.jira.models import FieldChange, JiraIssue
from jira_onboarding.sprint_metrics.issues import (
    MetricIssueBuilder,
    SprintChange,
    StatusChange,
    from_micros,
    metric_issues,
    to_micros,
)

CREATED = datetime(2026, 9, 1, 10, 0, 0, 123456, tzinfo=UTC)


def change(at: datetime, before: str | None, after: str | None) -> FieldChange:
    return FieldChange.model_validate({"at": at, "from": before, "to": after})


def parsed(key: str, **values) -> JiraIssue:
    return JiraIssue(id=key, key=key, project_key=key.split("-")[0], **values)


ISSUE = parsed(
    "ALPHA-7",
    summary="Not read by the metrics",
    status_name="Done",
    status_category="done",
    issue_type="Bug",
    story_points=3,
    created=CREATED,
    resolved=CREATED + timedelta(days=3),
    sprint_ids=(2,),
    sprint_changes=(
        change(CREATED + timedelta(hours=1), None, "1"),
        change(CREATED + timedelta(days=1), "1", "1, 2"),
    ),
    status_changes=(
        change(CREATED + timedelta(days=2), "To Do", "In Progress"),
        change(CREATED + timedelta(days=3), "In Progress", "Done"),
    ),
)


def stored(issue: JiraIssue) -> dict:
    """The issues-table item's attributes, as `IssueStore.save` writes them and pynamodb
    reads them back (dates as datetimes, numbers as floats, changes as JSON with ISO 8601 times)."""

    def as_json(changes: tuple[FieldChange, ...]) -> list[dict] | None:
        return [{"at": c.at.isoformat(), "from": c.from_value, "to": c.to_value} for c in changes] or None

    return {
        "issue_key": issue.key,
        "project_key": issue.project_key,
        "status_name": issue.status_name,
        "status_category": issue.status_category,
        "issue_type": issue.issue_type,
        "is_subtask": issue.is_subtask,
        "story_points": issue.story_points,
        "sprint_ids": [float(s) for s in issue.sprint_ids],
        "created": issue.created,
        "resolved": issue.resolved,
        "sprint_changes": as_json(issue.sprint_changes),
        "status_changes": as_json(issue.status_changes),
    }


def test_metric_issue_from_a_stored_item_equals_the_one_from_the_parsed_issue():
    builder = MetricIssueBuilder()

    assert builder.from_stored(**stored(ISSUE)) == builder.from_issue(ISSUE)


def test_metric_issue_keeps_what_the_metrics_read():
    [lean] = metric_issues([ISSUE])

    assert (lean.key, lean.project_key, lean.status_category, lean.issue_type) == (
        "ALPHA-7",
        "ALPHA",
        "done",
        "Bug",
    )
    assert lean.story_points == 3.0 and lean.sprint_ids == {2}
    assert lean.created == to_micros(CREATED) and from_micros(lean.created) == CREATED
    # Sprint changes as sets of sprint ids; status changes casefolded (done is matched casefolded)
    assert lean.sprint_changes == (
        SprintChange(to_micros(CREATED + timedelta(hours=1)), frozenset(), frozenset({1})),
        SprintChange(to_micros(CREATED + timedelta(days=1)), frozenset({1}), frozenset({1, 2})),
    )
    assert lean.status_changes[-1] == StatusChange(
        to_micros(CREATED + timedelta(days=3)), "in progress", "done"
    )


def test_to_micros_is_exact_whatever_the_offset():
    # Given the same instant written in two time zones, to the microsecond
    paris = datetime(2026, 9, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    assert to_micros(paris) == to_micros(CREATED)
    assert to_micros(CREATED) - to_micros(CREATED - timedelta(microseconds=1)) == 1


def test_metric_issue_builder_shares_repeated_values():
    # Given two issues of one project, status and sprint, each built from its own stored item
    one, two = (
        parsed(key, status_name="In Progress", status_category="indeterminate", sprint_ids=(5,))
        for key in ("BETA-1", "BETA-2")
    )
    builder = MetricIssueBuilder()

    first, second = builder.from_stored(**stored(one)), builder.from_stored(**stored(two))

    # Then the repeated strings and sprint sets are one object each, not one copy per issue
    assert first.project_key is second.project_key
    assert first.status_name is second.status_name
    assert first.sprint_ids is second.sprint_ids
