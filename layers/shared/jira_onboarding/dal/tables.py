"""PynamoDB models, one per table in `template.yaml`. Every hash key is the team id, so an item of
one team can only be reached through that team's key.

Table names come from the settings and are bound on first use (`bind_tables`), never at import.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import base as _pynamodb_connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from jira_onboarding.aws import thread_session
from jira_onboarding.dal import batch
from jira_onboarding.dal.batch import SerializedItem, is_throttling, put_items, serialize_values
from jira_onboarding.dal.issue_items import item_attributes
from jira_onboarding.settings import Settings, get_settings

_pynamodb_connection.get_session = thread_session  # one session per thread: see aws.thread_session


def utcnow() -> datetime:
    return datetime.now(UTC)


class _TeamModel(Model):
    class Meta:
        abstract = True
        table_name = "unbound"
        region = "us-east-1"

    team_id = UnicodeAttribute(hash_key=True)


class TrackedProjectItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    project_key = UnicodeAttribute(range_key=True)
    sync_status = UnicodeAttribute(default="PENDING")
    selected = BooleanAttribute(default=True)  # False once the team deselects it: data kept, no more syncs
    run_id = UnicodeAttribute(null=True)
    # The run's plan: segment id -> {phase, jql, cursor, done}, each a disjoint JQL query (plan_sync.py).
    segments: MapAttribute = MapAttribute(null=True)
    plan_run_id = UnicodeAttribute(null=True)  # the run the segments were planned for
    structure_run_id = UnicodeAttribute(null=True)  # the run that stored the boards and sprints
    phase = UnicodeAttribute(null=True)  # recent | backfill while a split project syncs
    fresh_store = BooleanAttribute(null=True)  # nothing of the project was stored when the run began
    pages_synced = NumberAttribute(default=0)
    issues_fetched = NumberAttribute(default=0)  # this run's, committed: a full sync's progress
    issues_stored = NumberAttribute(default=0)  # what the store holds (set at completion, kept)
    # Issues a first sync stored ahead of their batch, shown until the count overtakes them (status.py).
    issues_previewed = NumberAttribute(null=True)
    issues_written = NumberAttribute(default=0)  # items the run wrote (new or changed)
    issues_total_estimate = NumberAttribute(null=True)
    estimation_field = UnicodeAttribute(null=True)
    versions = JSONAttribute(null=True)  # the project's versions with their release dates (jira/structure.py)
    reason = UnicodeAttribute(null=True)
    error_name = UnicodeAttribute(null=True)
    next_retry_at = UTCDateTimeAttribute(null=True)
    throttled_seconds = NumberAttribute(default=0)  # this run's waits Jira asked for (its 429s)
    held_seconds = NumberAttribute(default=0)  # this run's waits the site budget imposed (no call made)
    sync_mode = UnicodeAttribute(null=True)  # full | incremental, fixed by the run's plan
    last_swept_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    last_synced_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(default=utcnow)


class TeamMemberItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    member_id = UnicodeAttribute(range_key=True)
    github_login = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    emails = UnicodeSetAttribute(null=True)
    jira_account_id = UnicodeAttribute(null=True)
    match_method = UnicodeAttribute(null=True)
    match_confidence = NumberAttribute(null=True)
    matched_at = UTCDateTimeAttribute(null=True)
    match_evidence = JSONAttribute(null=True)  # what their PRs say (logic/people/evidence.py)


class JiraUsersByAccountId(GlobalSecondaryIndex["JiraUserItem"]):
    """The teams that hold one Jira account: a closed account is erased from each of them."""

    class Meta:
        index_name = "ByAccountId"
        projection = KeysOnlyProjection()

    account_id = UnicodeAttribute(hash_key=True)
    team_id = UnicodeAttribute(range_key=True)


class JiraUserItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    account_id = UnicodeAttribute(range_key=True)
    account_type = UnicodeAttribute(default="atlassian")
    display_name = UnicodeAttribute(default="")
    email_address = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    synced_at = UTCDateTimeAttribute(default=utcnow)
    # Atlassian reported the account closed: its personal data is gone and never stored again
    # (logic/privacy/erase.py); the account id stays as an opaque key.
    erased_at = UTCDateTimeAttribute(null=True)
    by_account = JiraUsersByAccountId()


# An attribute per field of the `JiraIssue` model, derived (dal/issue_items.py): typed as Any for
# mypy, which cannot follow a class built from a model's fields.
_JiraIssueFields: Any = type(
    "_JiraIssueFields",
    (_TeamModel,),
    {
        "__module__": __name__,
        "Meta": type("Meta", (_TeamModel.Meta,), {"abstract": True}),
        **item_attributes(),
    },
)


class JiraIssueItem(_JiraIssueFields):
    """A stored issue: the model's fields (derived), and the store's bookkeeping declared here."""

    class Meta(_TeamModel.Meta):
        abstract = False

    issue_key = UnicodeAttribute(range_key=True)
    deleted = BooleanAttribute(default=False)
    content_hash = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    synced_at = UTCDateTimeAttribute(default=utcnow)


class JiraBoardItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    board_id = NumberAttribute(range_key=True)
    name = UnicodeAttribute(default="")
    board_type = UnicodeAttribute(default="scrum")
    project_key = UnicodeAttribute(null=True)
    estimation_field = UnicodeAttribute(null=True)


class JiraSprintItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    sprint_id = NumberAttribute(range_key=True)
    board_id = NumberAttribute(null=True)
    project_key = UnicodeAttribute(null=True)
    name = UnicodeAttribute(default="")
    state = UnicodeAttribute(default="")
    goal = UnicodeAttribute(null=True)
    start_date = UTCDateTimeAttribute(null=True)
    end_date = UTCDateTimeAttribute(null=True)
    complete_date = UTCDateTimeAttribute(null=True)


class OnboardingRunItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    run_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(default="RUNNING")
    trigger = UnicodeAttribute(default="selection")  # selection | nightly
    project_keys = ListAttribute(of=UnicodeAttribute, default=list)
    execution_arn = UnicodeAttribute(null=True)
    users_fetched = NumberAttribute(null=True)
    users_matched = NumberAttribute(null=True)
    users_summary = JSONAttribute(null=True)
    users_error = UnicodeAttribute(null=True)
    # Real time the users step handed to Wait For Jira in this run (a quota pause): bounded.
    users_waited_seconds = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(default=utcnow)
    finished_at = UTCDateTimeAttribute(null=True)
    # What the run's Jira calls cost (Jira's points cost model), added by each step as it ends.
    jira_calls = NumberAttribute(null=True)
    jira_points = NumberAttribute(null=True)


class JiraConnectionItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    site_url = UnicodeAttribute()  # where the Jira calls go (for OAuth: {api}/ex/jira/{cloudId})
    auth_kind = UnicodeAttribute()
    # OAuth: the site the grant was chosen for, as accessible-resources named it.
    cloud_id = UnicodeAttribute(null=True)
    site_web_url = UnicodeAttribute(null=True)  # the site's own address (https://acme.atlassian.net)
    site_name = UnicodeAttribute(null=True)
    granted_scopes = JSONAttribute(null=True)
    # Set when Atlassian refused a refresh for good (revoked, the user left, 90 days idle): syncs and
    # live updates stop until the team reconnects (registering again replaces the item).
    reconnect_reason = UnicodeAttribute(null=True)
    reconnect_needed_at = UTCDateTimeAttribute(null=True)
    # The site's project keys as GET /jira/projects last listed them (all pages: `listed_complete`),
    # so a selection naming a key the site does not have is refused before anything is written.
    listed_projects = UnicodeSetAttribute(null=True)
    listed_at = NumberAttribute(null=True)  # epoch seconds of the listing's first page
    listed_complete = BooleanAttribute(null=True)
    # The credentials, envelope-encrypted (jira_onboarding/credentials.py); `secret_name` only for a
    # connection registered before that, until logic/connection/migrate.py moves it here.
    credentials_envelope = UnicodeAttribute(null=True)
    secret_name = UnicodeAttribute(null=True)
    field_map = JSONAttribute(null=True)
    # OAuth refresh lease: one Lambda at a time spends the rotating refresh token.
    refresh_lease_owner = UnicodeAttribute(null=True)
    refresh_lease_until = NumberAttribute(null=True)
    token_version = NumberAttribute(default=0)
    # When the site's users were last fetched, for which members (a digest): again weekly, or on a change.
    users_synced_at = UTCDateTimeAttribute(null=True)
    users_members_digest = UnicodeAttribute(null=True)
    # The personal data report (logic/privacy/report.py): when the team's accounts were last all
    # reported, and the cycle under way (the last account reported, so a crash resumes after it).
    privacy_reported_at = UTCDateTimeAttribute(null=True)
    privacy_cycle_started_at = UTCDateTimeAttribute(null=True)
    privacy_cursor = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)


class PullRequestsByMergedAt(GlobalSecondaryIndex["PullRequestItem"]):
    """Merged pull requests of a team in time order: window reads are a Query, never a Scan."""

    class Meta:
        index_name = "ByMergedAt"
        projection = AllProjection()

    team_id = UnicodeAttribute(hash_key=True)
    merged_at = UnicodeAttribute(range_key=True)


class PullRequestItem(_TeamModel):
    """A pull request from the product's GitHub integration (docs/pull_request_contract.md)."""

    class Meta(_TeamModel.Meta):
        abstract = False

    pr_id = UnicodeAttribute(range_key=True)  # "<owner/repo>#<number>"
    repository = UnicodeAttribute()
    number = NumberAttribute()
    title = UnicodeAttribute(default="")
    branch = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    author_login = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    # ISO 8601 UTC ("2026-10-01T12:00:00+00:00"): sorts as time, and is the index's range key.
    merged_at = UnicodeAttribute(null=True)
    by_merged_at = PullRequestsByMergedAt()


class MetricsSnapshotItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    # time-ordered: the newest sorts last. "<snapshot_id>" is a snapshot's header, written last;
    # "<snapshot_id>#<n>" its parts (dal/metrics.py), so that no item comes near 400 KB.
    snapshot_id = UnicodeAttribute(range_key=True)
    run_id = UnicodeAttribute(null=True)
    computed_at = UTCDateTimeAttribute(default=utcnow)
    sprint_metrics = JSONAttribute(null=True)  # snapshots stored before the parts
    linkage = JSONAttribute(null=True)
    parts = NumberAttribute(null=True)
    body = BinaryAttribute(null=True, legacy_encoding=False)  # a part: zlib-compressed JSON
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds), set once a newer snapshot exists


class InsightItem(_TeamModel):
    class Meta(_TeamModel.Meta):
        abstract = False

    insight_id = UnicodeAttribute(range_key=True)  # "<snapshot_id>#<rank>"
    snapshot_id = UnicodeAttribute()
    rank = NumberAttribute()
    title = UnicodeAttribute()
    detail = UnicodeAttribute(default="")
    category = UnicodeAttribute(default="general")
    severity = UnicodeAttribute(default="info")
    evidence = ListAttribute(of=UnicodeAttribute, default=list)
    generator = UnicodeAttribute(default="offline")
    model_id = UnicodeAttribute(null=True)
    fallback_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds), set once its snapshot is superseded


_BINDINGS: dict[type[Model], str] = {
    TrackedProjectItem: "tracked_projects",
    TeamMemberItem: "team_members",
    JiraUserItem: "jira_users",
    JiraIssueItem: "jira_issues",
    JiraBoardItem: "jira_boards",
    JiraSprintItem: "jira_sprints",
    OnboardingRunItem: "onboarding_runs",
    JiraConnectionItem: "jira_connections",
    PullRequestItem: "pull_requests",
    MetricsSnapshotItem: "metrics_snapshots",
    InsightItem: "insights",
}
_bound_to: tuple[str, ...] | None = None
_lock = threading.Lock()


def bind_tables(settings: Settings | None = None) -> None:
    """Point every model at its physical table (idempotent; re-binds when the names change)."""
    global _bound_to  # noqa: PLW0603 - one binding per process, re-bound when settings change
    settings = settings or get_settings()
    key = (settings.region, *(getattr(settings.tables, attr) for attr in _BINDINGS.values()))
    if key == _bound_to:
        return
    with _lock:
        for model, attr in _BINDINGS.items():
            model.Meta.table_name = getattr(settings.tables, attr)
            model.Meta.region = settings.region
            model._connection = None  # PynamoDB caches the connection with the old table name
        batch.forget_connection()
        _bound_to = key


def forget_table_bindings() -> None:
    """Drop every cached connection: the next call binds the tables and connects again (a local
    stack whose DynamoDB endpoint changed; never needed in Lambda)."""
    global _bound_to  # noqa: PLW0603 - the next bind_tables drops the connections
    _bound_to = None


__all__ = ["SerializedItem", "bind_tables", "is_throttling", "put_items", "serialize_values", "utcnow"]
