"""Data access for live updates (Jira webhooks): endpoints, conditional issue writes,
tombstones, sprint scopes recorded at start, the metrics debounce. Typed methods, one per change.

An issue write from an event is conditional: it lands only when Jira's `updated` is newer than what
is stored and the issue is not marked deleted, so deliveries applied late, twice or out of order
never move an issue back in time, and a deleted issue (its tombstone) never comes back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from jira_onboarding.dal import tables
from jira_onboarding.dal.issues import issue_item_values
from jira_onboarding.dal.tables import JiraIssueItem, bind_tables, utcnow
from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.records import Record


class WebhookEndpointItem(Model):
    """The webhook URL's connection id -> the team (the only key that is not the team)."""

    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    connection_id = UnicodeAttribute(hash_key=True)
    team_id = UnicodeAttribute()
    auth_kind = UnicodeAttribute()  # api_token (admin webhook, X-Hub-Signature) | oauth (JWT)
    created_at = UTCDateTimeAttribute(default=utcnow)


class LiveUpdateItem(Model):
    """One per (team, purpose): `endpoint`, `metrics`, `sprints#<project>`, `scope#<sprint id>`,
    `project#<project>` (the live events applied to that project, for the page)."""

    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    team_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    connection_id = UnicodeAttribute(null=True)
    auth_kind = UnicodeAttribute(null=True)
    webhook_url = UnicodeAttribute(null=True)
    webhook_ids = ListAttribute(of=NumberAttribute, null=True)
    webhook_jql = UnicodeAttribute(null=True)
    webhook_expires_at = UTCDateTimeAttribute(null=True)
    last_event_at = UTCDateTimeAttribute(null=True)
    events_applied = NumberAttribute(null=True)
    events_dropped = NumberAttribute(null=True)
    # metrics debounce: when the last live recompute ran, and when the next one is due
    computed_at = NumberAttribute(null=True)
    due_at = NumberAttribute(null=True)
    refreshed_at = NumberAttribute(null=True)  # sprints#<project>: last sprint refresh
    scope = JSONAttribute(null=True)  # scope#<sprint>: {"issue_keys", "points", "recorded_at"}


# Bound with the other tables (tables.bind_tables walks this mapping).
tables._BINDINGS.update({WebhookEndpointItem: "webhook_endpoints", LiveUpdateItem: "live_updates"})


class WebhookEndpoint(Record):
    connection_id: str
    team_id: str
    auth_kind: str


class LiveStatus(Record):
    """What the status shows about live updates."""

    enabled: bool = False
    connection_id: str | None = None
    auth_kind: str | None = None
    webhook_url: str | None = None
    last_event_at: datetime | None = None
    registration_expires_at: datetime | None = None
    webhook_ids: list[int] = []
    webhook_jql: str | None = None
    events_applied: int = 0
    events_dropped: int = 0


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def get_endpoint(connection_id: str) -> WebhookEndpoint | None:
    """The endpoint a delivery names, or None (one strongly consistent key read)."""
    bind_tables()
    try:
        item = WebhookEndpointItem.get(connection_id, consistent_read=True)
    except DoesNotExist:
        return None
    return WebhookEndpoint(
        connection_id=item.connection_id,
        team_id=item.team_id,
        auth_kind=item.auth_kind,
    )


class LiveStore:
    """Live-update data of one team."""

    def __init__(self, team_id: str) -> None:
        if not team_id:
            raise ValueError("a team id is required for every data access")
        bind_tables()
        self.team_id = team_id

    # ---- endpoint and registration ---------------------------------------------------------
    def save_endpoint(self, connection_id: str, auth_kind: str, url: str) -> None:
        """The endpoint, and the team's pointer to it (a registration already made is kept)."""
        # The signing secret is not here: it is sealed with the connection's credentials.
        WebhookEndpointItem(connection_id, team_id=self.team_id, auth_kind=auth_kind).save()
        LiveUpdateItem(self.team_id, "endpoint").update(
            actions=[
                LiveUpdateItem.connection_id.set(connection_id),
                LiveUpdateItem.auth_kind.set(auth_kind),
                LiveUpdateItem.webhook_url.set(url),
            ]
        )

    def status(self) -> LiveStatus:
        try:
            item = LiveUpdateItem.get(self.team_id, "endpoint")
        except DoesNotExist:
            return LiveStatus()
        return LiveStatus(
            enabled=item.connection_id is not None,
            connection_id=item.connection_id,
            auth_kind=item.auth_kind,
            webhook_url=item.webhook_url,
            last_event_at=item.last_event_at,
            registration_expires_at=item.webhook_expires_at,
            webhook_ids=[int(i) for i in cast(list[float], item.webhook_ids or [])],
            webhook_jql=item.webhook_jql,
            events_applied=int(item.events_applied or 0),
            events_dropped=int(item.events_dropped or 0),
        )

    def registered_webhook_ids(self) -> list[int]:
        """The ids of the dynamic webhooks registered for the team's connection, read consistently
        (a delivery of a webhook registered a moment ago is bound by them)."""
        try:
            item = LiveUpdateItem.get(
                self.team_id, "endpoint", consistent_read=True, attributes_to_get=["webhook_ids"]
            )
        except DoesNotExist:
            return []
        return [int(i) for i in cast(list[float], item.webhook_ids or [])]

    def record_registration(
        self, webhook_ids: list[int], jql: str | None, expires_at: datetime | None
    ) -> None:
        LiveUpdateItem(self.team_id, "endpoint").update(
            actions=[
                LiveUpdateItem.webhook_ids.set(cast(Any, webhook_ids))
                if webhook_ids
                else LiveUpdateItem.webhook_ids.remove(),
                LiveUpdateItem.webhook_jql.set(jql) if jql else LiveUpdateItem.webhook_jql.remove(),
                LiveUpdateItem.webhook_expires_at.set(expires_at)
                if expires_at
                else LiveUpdateItem.webhook_expires_at.remove(),
            ],
            condition=LiveUpdateItem.item_key.exists(),
        )

    def record_events(self, *, applied: int, dropped: int, at: datetime) -> None:
        """Count a batch's events on the endpoint (not recreated if it was removed meanwhile)."""
        try:
            LiveUpdateItem(self.team_id, "endpoint").update(
                actions=[
                    LiveUpdateItem.last_event_at.set(at),
                    LiveUpdateItem.events_applied.add(applied),
                    LiveUpdateItem.events_dropped.add(dropped),
                ],
                condition=LiveUpdateItem.connection_id.exists(),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise

    def record_project_events(self, applied: dict[str, int], *, at: datetime) -> None:
        """Count a batch's applied events per project (the page shows them on the project's line)."""
        for project_key, count in applied.items():
            LiveUpdateItem(self.team_id, f"project#{project_key}").update(
                actions=[LiveUpdateItem.last_event_at.set(at), LiveUpdateItem.events_applied.add(count)]
            )

    def project_events(self) -> dict[str, tuple[int, datetime | None]]:
        """Project key -> (live events applied, when the last one was): one Query."""
        return {
            item.item_key.split("#", 1)[1]: (int(item.events_applied or 0), item.last_event_at)
            for item in LiveUpdateItem.query(
                self.team_id, range_key_condition=LiveUpdateItem.item_key.startswith("project#")
            )
        }

    def remove_endpoint(self) -> None:
        status = self.status()
        if status.connection_id:
            WebhookEndpointItem(status.connection_id).delete()
        LiveUpdateItem(self.team_id, "endpoint").delete()

    # ---- issues ----------------------------------------------------------------------------
    def save_issue_if_newer(self, issue: JiraIssue, *, content_hash: str) -> bool:
        """Write the issue only if it is new, or newer than the stored one and not deleted."""
        values = issue_item_values(
            self.team_id, issue, content_hash=content_hash, run_id="live", now=utcnow()
        )
        item = JiraIssueItem(**values)
        newer = JiraIssueItem.updated.does_not_exist()
        if issue.updated is not None:
            newer = newer | (JiraIssueItem.updated < issue.updated)
        condition = JiraIssueItem.issue_key.does_not_exist() | ((JiraIssueItem.deleted == False) & newer)  # noqa: E712
        try:
            item.save(condition=condition)
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def issue_summary(self, issue_key: str) -> str | None:
        """The stored summary of one issue (one key read; the demo and the bench watch it)."""
        try:
            return JiraIssueItem.get(self.team_id, issue_key, attributes_to_get=["summary"]).summary
        except DoesNotExist:
            return None

    def tombstone_issue(self, issue_id: str, issue_key: str, project_key: str) -> bool:
        """Mark an issue deleted, stored or not: the tombstone keeps a late update from reviving it."""
        try:
            JiraIssueItem(self.team_id, issue_key).update(
                actions=[
                    JiraIssueItem.deleted.set(True),
                    JiraIssueItem.issue_id.set(issue_id),
                    JiraIssueItem.project_key.set(project_key),
                    JiraIssueItem.synced_at.set(utcnow()),
                ],
                condition=JiraIssueItem.deleted.does_not_exist() | (JiraIssueItem.deleted == False),  # noqa: E712
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False  # already a tombstone
            raise
        return True

    # ---- sprints ---------------------------------------------------------------------------
    def claim_sprint_refresh(self, project_key: str, now: float, interval_s: float) -> bool:
        """At most one sprint refresh per project per interval (dynamic webhooks send no sprint events)."""
        try:
            LiveUpdateItem(self.team_id, f"sprints#{project_key}").update(
                actions=[LiveUpdateItem.refreshed_at.set(now)],
                condition=LiveUpdateItem.refreshed_at.does_not_exist()
                | (LiveUpdateItem.refreshed_at <= now - interval_s),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def record_sprint_scope(
        self, sprint_id: int, issue_keys: list[str], points: float, unestimated: int, at: datetime
    ) -> bool:
        """The sprint's scope when its start was seen live; the first record stands."""
        scope = {
            "issue_keys": sorted(issue_keys),
            "points": points,
            "unestimated": unestimated,
            "recorded_at": at.isoformat(),
        }
        try:
            LiveUpdateItem(self.team_id, f"scope#{sprint_id}", scope=scope).save(
                condition=LiveUpdateItem.item_key.does_not_exist()
            )
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def sprint_scopes(self) -> dict[int, dict[str, Any]]:
        return {
            int(item.item_key.split("#", 1)[1]): dict(item.scope or {})
            for item in LiveUpdateItem.query(
                self.team_id, range_key_condition=LiveUpdateItem.item_key.startswith("scope#")
            )
        }

    # ---- metrics debounce ------------------------------------------------------------------
    def schedule_metrics(self, now: float, interval_s: float, settle_s: float) -> float | None:
        """Ask for a recompute after a change. Returns when it is due if this call scheduled it;
        None if one is already due (a burst schedules one). Due no earlier than `interval_s`
        after the last recompute, and `settle_s` after this change."""
        try:
            current = LiveUpdateItem.get(self.team_id, "metrics", consistent_read=True)
            computed = float(current.computed_at or 0)
        except DoesNotExist:
            computed = 0.0
        due = max(now + settle_s, computed + interval_s)
        try:
            LiveUpdateItem(self.team_id, "metrics").update(
                actions=[LiveUpdateItem.due_at.set(due)],
                condition=LiveUpdateItem.due_at.does_not_exist(),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return None
            raise
        return due

    def claim_metrics(self, now: float) -> bool:
        """Take the scheduled recompute if it is due (exactly one consumer gets it)."""
        try:
            LiveUpdateItem(self.team_id, "metrics").update(
                actions=[LiveUpdateItem.computed_at.set(now), LiveUpdateItem.due_at.remove()],
                condition=LiveUpdateItem.due_at <= now,
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def metrics_due_at(self) -> float | None:
        try:
            item = LiveUpdateItem.get(self.team_id, "metrics", consistent_read=True)
        except DoesNotExist:
            return None
        return float(item.due_at) if item.due_at is not None else None
