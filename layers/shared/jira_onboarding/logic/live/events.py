"""The messages on the live-updates queue and what the consumer reads from a Jira webhook event.

The receiver queues the event as Jira sent it (reduced to the fields the consumer reads only when
it would not fit in an SQS message); the consumer trusts nothing in it but the ids: it refetches
the issue's current state from Jira.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
DELETE_EVENT = "jira:issue_deleted"
# Comment and issue-property events change nothing we store but the issue's `updated`: the issue is
# refetched as for an update.
REFETCH_EVENTS = ISSUE_EVENTS | {
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "issue_property_set",
    "issue_property_deleted",
}
SPRINT_EVENTS = frozenset(
    {"sprint_created", "sprint_updated", "sprint_started", "sprint_closed", "sprint_deleted"}
)
KNOWN_EVENTS = (
    REFETCH_EVENTS | {DELETE_EVENT} | SPRINT_EVENTS | {"board_created", "board_updated", "board_deleted"}
)
# SQS takes up to 256 KiB a message; the envelope around the event stays well under the rest.
MAX_QUEUED_EVENT_BYTES = 240 * 1024


class LiveMessage(BaseModel):
    """One message on the live-updates queue."""

    model_config = ConfigDict(extra="ignore")

    v: int = 1
    kind: Literal["jira_event", "refresh_metrics", "sync_registration"] = "jira_event"
    team_id: str
    delivery_id: str | None = None
    received_at: float | None = None
    event: dict[str, Any] = Field(default_factory=dict)

    @property
    def webhook_event(self) -> str:
        return str(self.event.get("webhookEvent") or "")


class IssueRef(BaseModel):
    """What an issue event says about its issue: ids only, the state is refetched."""

    id: str
    key: str
    project_key: str


def shape_problem(event: Any) -> str | None:
    """Why a parsed webhook body is not an event we take (None if it is)."""
    if not isinstance(event, dict):
        return "The webhook body is not a JSON object."
    name = event.get("webhookEvent")
    if not isinstance(name, str) or not name:
        return "The webhook body has no webhookEvent."
    if name not in KNOWN_EVENTS:
        return None  # accepted and counted as dropped by the consumer: Jira adds event kinds
    if name in REFETCH_EVENTS or name == DELETE_EVENT:
        if issue_ref(event) is None:
            return "The issue event has no issue id and key."
    elif name in SPRINT_EVENTS:
        sprint = event.get("sprint")
        if not isinstance(sprint, dict) or not isinstance(sprint.get("id"), int):
            return "The sprint event has no sprint id."
    return None


def issue_ref(event: dict[str, Any]) -> IssueRef | None:
    issue = event.get("issue")
    if not isinstance(issue, dict):
        return None
    issue_id, key = issue.get("id"), issue.get("key")
    if not isinstance(key, str) or "-" not in key or not str(issue_id or "").isdigit():
        return None
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    named = project.get("key") if isinstance(project, dict) else None
    project_key = named if isinstance(named, str) and named else key.rsplit("-", 1)[0]
    return IssueRef(id=str(issue_id), key=key.upper(), project_key=project_key.upper())


def reduced(event: dict[str, Any]) -> dict[str, Any]:
    """The fields the consumer reads, for an event too big to queue whole."""
    out: dict[str, Any] = {"webhookEvent": event.get("webhookEvent"), "timestamp": event.get("timestamp")}
    ref = issue_ref(event)
    if ref is not None:
        out["issue"] = {"id": ref.id, "key": ref.key, "fields": {"project": {"key": ref.project_key}}}
    sprint = event.get("sprint")
    if isinstance(sprint, dict):
        out["sprint"] = {
            k: sprint.get(k)
            for k in ("id", "state", "name", "startDate", "endDate", "completeDate", "originBoardId", "goal")
        }
    out["reduced"] = True
    return out


def queue_body(message: LiveMessage) -> str:
    """The message as queued: whole if it fits, else with the event reduced."""
    body = message.model_dump_json()
    if len(body.encode()) <= MAX_QUEUED_EVENT_BYTES:
        return body
    return message.model_copy(update={"event": reduced(message.event)}).model_dump_json()


def parse_message(body: str) -> LiveMessage:
    """A queued message; raises ValueError for one that is not ours (a poison message)."""
    return LiveMessage.model_validate(json.loads(body))
