"""Attach the Sprint and status histories of a page of issues, from Jira's bulk changelog.

Sprint commitment can only be reconstructed from the Sprint field's history (an issue's current
sprints say nothing about when it joined), and cycle time needs the status transitions; search's
`expand=changelog` is truncated, so one `POST /rest/api/3/changelog/bulkfetch` per page it is.
"""

from __future__ import annotations

from collections import defaultdict

from jira_onboarding.errors import JiraBadRequestError, JiraGoneError, JiraNotFoundError, JiraPermissionError
from jira_onboarding.jira.client import BULK_CHANGELOG_MAX_ISSUES, JiraClient
from jira_onboarding.jira.models import FieldChange, JiraIssue
from jira_onboarding.observability import logger

STATUS_FIELD_ID = "status"


def attach_changelogs(
    client: JiraClient, issues: list[JiraIssue], sprint_field_id: str | None
) -> list[JiraIssue]:
    """The same issues with `sprint_changes` and `status_changes` filled in, oldest first.

    Transient Jira errors propagate (the state machine retries the page). A site that refuses the
    endpoint (404/410/403/400) keeps the issues without history: metrics then say they fell back."""
    if not issues:
        return issues
    field_ids = [f for f in (sprint_field_id, STATUS_FIELD_ID) if f]
    sprint: dict[str, list[FieldChange]] = defaultdict(list)
    status: dict[str, list[FieldChange]] = defaultdict(list)
    ids = [issue.id for issue in issues]
    try:
        for start in range(0, len(ids), BULK_CHANGELOG_MAX_ISSUES):
            for log in client.bulk_changelog(ids[start : start + BULK_CHANGELOG_MAX_ISSUES], field_ids):
                issue_id = str(log.get("issueId"))
                for history in log.get("changeHistories") or []:
                    for item in history.get("items") or []:
                        field_id = item.get("fieldId")
                        if sprint_field_id and field_id == sprint_field_id:
                            sprint[issue_id].append(
                                FieldChange.model_validate(
                                    {"at": history["created"], "from": item.get("from"), "to": item.get("to")}
                                )
                            )
                        elif field_id == STATUS_FIELD_ID:
                            status[issue_id].append(
                                FieldChange.model_validate(
                                    {
                                        "at": history["created"],
                                        "from": item.get("fromString"),
                                        "to": item.get("toString"),
                                    }
                                )
                            )
    except (JiraNotFoundError, JiraGoneError, JiraPermissionError, JiraBadRequestError) as exc:
        logger.warning(
            "Jira changelog unavailable; storing issues without history", extra={"reason": exc.reason}
        )
        return issues
    return [
        issue.model_copy(
            update={
                "sprint_changes": tuple(sorted(sprint.get(issue.id, ()), key=lambda c: c.at)),
                "status_changes": tuple(sorted(status.get(issue.id, ()), key=lambda c: c.at)),
            }
        )
        for issue in issues
    ]
