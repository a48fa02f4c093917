"""Attach the Sprint and status histories of a page of issues, from Jira's bulk changelog.

Sprint commitment can only be reconstructed from the Sprint field's history (an issue's current
sprints say nothing about when it joined), and cycle time needs the status transitions; search's
`expand=changelog` is truncated, so one `POST /rest/api/3/changelog/bulkfetch` per page it is.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jira_onboarding.errors import JiraBadRequestError, JiraGoneError, JiraNotFoundError, JiraPermissionError
from jira_onboarding.jira.client import BULK_CHANGELOG_MAX_ISSUES, JiraClient
from jira_onboarding.jira.models import FieldChange, JiraIssue
from jira_onboarding.observability import logger

STATUS_FIELD_ID = "status"


# Histories are bounded by design: an issue with thousands of status changes would make an item
# over DynamoDB's 400 KB. The most recent changes are kept (cycle time and sprint metrics read the
# recent sprints); the count of issues whose history was cut is logged.
MAX_CHANGES_PER_FIELD = 500


def _change(history: dict[str, Any], item: dict[str, Any], raw: bool) -> FieldChange | None:
    """One change, or None when Jira's entry is not one (no date, odd values)."""
    value = {
        "at": history.get("created"),
        "from": item.get("from") if raw else item.get("fromString"),
        "to": item.get("to") if raw else item.get("toString"),
    }
    return FieldChange.from_payload(value)


def _read_logs(
    client: JiraClient, ids: list[str], field_ids: list[str], sprint_field_id: str | None
) -> tuple[dict[str, list[FieldChange]], dict[str, list[FieldChange]], int]:
    sprint: dict[str, list[FieldChange]] = defaultdict(list)
    status: dict[str, list[FieldChange]] = defaultdict(list)
    wanted = set(ids)
    skipped = 0
    for start in range(0, len(ids), BULK_CHANGELOG_MAX_ISSUES):
        for log in client.bulk_changelog(ids[start : start + BULK_CHANGELOG_MAX_ISSUES], field_ids):
            issue_id = str(log.get("issueId")) if isinstance(log, dict) else ""
            histories = log.get("changeHistories") if isinstance(log, dict) else None
            if issue_id not in wanted or not isinstance(histories, list):
                skipped += 1  # an issue we did not ask for, or not a changelog at all
                continue
            for history in histories:
                items = history.get("items") if isinstance(history, dict) else None
                for item in items if isinstance(items, list) else ():
                    field_id = item.get("fieldId") if isinstance(item, dict) else None
                    target = (
                        sprint
                        if sprint_field_id and field_id == sprint_field_id
                        else status
                        if field_id == STATUS_FIELD_ID
                        else None
                    )
                    if target is None:
                        continue
                    change = _change(history, item, raw=target is sprint)
                    if change is None:
                        skipped += 1
                        continue
                    changes = target[issue_id]
                    changes.append(change)
                    if len(changes) > 2 * MAX_CHANGES_PER_FIELD:
                        # Memory stays bounded while reading: keep the most recent so far.
                        changes.sort(key=lambda c: c.at)
                        del changes[:-MAX_CHANGES_PER_FIELD]
    return sprint, status, skipped


def _bounded(changes: list[FieldChange]) -> tuple[tuple[FieldChange, ...], bool]:
    ordered = sorted(changes, key=lambda c: c.at)
    return tuple(ordered[-MAX_CHANGES_PER_FIELD:]), len(ordered) > MAX_CHANGES_PER_FIELD


def attach_changelogs(
    client: JiraClient, issues: list[JiraIssue], sprint_field_id: str | None
) -> list[JiraIssue]:
    """The same issues with `sprint_changes` and `status_changes` filled in, oldest first.

    Transient Jira errors propagate (the state machine retries the page). A site that refuses the
    endpoint (404/410/403/400) keeps the issues without history: metrics then say they fell back.
    Entries that are not changes are skipped and counted; histories keep their last
    MAX_CHANGES_PER_FIELD changes per field."""
    ids = [issue.id for issue in issues if issue.id]
    if not ids:
        return issues
    field_ids = [f for f in (sprint_field_id, STATUS_FIELD_ID) if f]
    try:
        sprint, status, skipped = _read_logs(client, ids, field_ids, sprint_field_id)
    except (JiraNotFoundError, JiraGoneError, JiraPermissionError, JiraBadRequestError) as exc:
        logger.warning(
            "Jira changelog unavailable; storing issues without history", extra={"reason": exc.reason}
        )
        return issues
    result, cut = [], 0
    for issue in issues:
        sprint_changes, sprint_cut = _bounded(sprint.get(issue.id, []))
        status_changes, status_cut = _bounded(status.get(issue.id, []))
        cut += sprint_cut or status_cut
        result.append(
            issue.model_copy(update={"sprint_changes": sprint_changes, "status_changes": status_changes})
        )
    if skipped or cut:
        logger.warning(
            "Jira changelog entries skipped or histories cut",
            extra={"entries_skipped": skipped, "issues_with_history_cut": cut},
        )
    return result
