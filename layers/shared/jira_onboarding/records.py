"""Plain records the logic works with; data access converts them to and from table items."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SyncStatus(StrEnum):
    PENDING = "PENDING"
    SYNCING = "SYNCING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class RunStatus(StrEnum):
    QUEUED = "QUEUED"  # recorded, left for the nightly job (pipeline off, or the start failed)
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    COMPLETE_WITH_FAILURES = "COMPLETE_WITH_FAILURES"
    FAILED = "FAILED"


class Record(BaseModel):
    # Schemas built on first use, not at import: a function validates a few of these at most.
    model_config = ConfigDict(extra="ignore", defer_build=True)


class ProjectSegment(Record):
    """One JQL query over a disjoint part of a project, synced page by page from its own cursor."""

    phase: str  # recent (the first pass) | backfill
    jql: str
    cursor: str | None = None
    done: bool = False


class TrackedProject(Record):
    team_id: str
    project_key: str
    sync_status: SyncStatus = SyncStatus.PENDING
    selected: bool = True
    run_id: str | None = None
    segments: dict[str, ProjectSegment] = Field(default_factory=dict)
    plan_run_id: str | None = None
    structure_run_id: str | None = None
    phase: str | None = None
    fresh_store: bool | None = None
    pages_synced: int = 0
    issues_fetched: int = 0  # this run's issues fetched and committed: a full sync's progress
    issues_stored: int = 0  # what the store holds for the project, as the last run left it
    issues_previewed: int | None = None
    issues_written: int = 0  # this run's item writes (new or changed issues)
    issues_total_estimate: int | None = None
    estimation_field: str | None = None
    versions: list[dict] | None = None  # the project's versions (jira/structure.py ProjectVersion)
    reason: str | None = None
    error_name: str | None = None
    next_retry_at: datetime | None = None
    sync_mode: str | None = None
    last_swept_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_synced_at: datetime | None = None
    updated_at: datetime | None = None


class TeamMember(Record):
    """A person of the team as the product's other integrations (GitHub) know them."""

    team_id: str
    member_id: str
    github_login: str | None = None
    display_name: str | None = None
    emails: list[str] = Field(default_factory=list)
    jira_account_id: str | None = None
    match_method: str | None = None
    match_confidence: float | None = None
    match_evidence: dict | None = None


class OnboardingRun(Record):
    team_id: str
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    trigger: str = "selection"
    project_keys: list[str] = Field(default_factory=list)
    execution_arn: str | None = None
    users_fetched: int | None = None
    users_matched: int | None = None
    users_summary: dict | None = None
    users_error: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    jira_calls: int | None = None
    jira_points: int | None = None


class JiraConnection(Record):
    team_id: str
    site_url: str
    auth_kind: str
    cloud_id: str | None = None
    site_web_url: str | None = None
    site_name: str | None = None
    granted_scopes: list[str] | None = None
    reconnect_reason: str | None = None
    reconnect_needed_at: datetime | None = None
    secret_name: str | None = None  # a connection from before the envelope (migrated away)
    # ciphertext, but still never in an answer or a log line
    credentials_envelope: str | None = Field(default=None, exclude=True, repr=False)
    field_map: dict | None = None
    users_synced_at: datetime | None = None
    users_members_digest: str | None = None


class PullRequest(Record):
    """A pull request as the product's GitHub integration stores it: the contract in
    docs/pull_request_contract.md. Times are timezone-aware; `merged_at` is None until merged."""

    team_id: str
    repository: str = Field(min_length=1)  # "owner/name"
    number: int = Field(ge=1)
    title: str = ""
    branch: str | None = None
    body: str | None = None
    author_login: str | None = None
    created_at: datetime
    merged_at: datetime | None = None

    @property
    def pr_id(self) -> str:
        return f"{self.repository}#{self.number}"


class MetricsSnapshot(Record):
    """Sprint metrics and PR linkage computed at the end of a run (JSON documents, as served)."""

    team_id: str
    snapshot_id: str
    run_id: str | None = None
    computed_at: datetime
    sprint_metrics: dict | None = None
    linkage: dict | None = None
    releases: dict | None = None  # issues done per fix version, lead time to release


class StoredInsight(Record):
    """One insight written for a snapshot; `rank` 1 is the most important."""

    team_id: str | None = None
    snapshot_id: str | None = None
    rank: int
    title: str
    detail: str = ""
    category: str = "general"
    severity: str = "info"
    evidence: list[str] = Field(default_factory=list)
    generator: str = "offline"
    model_id: str | None = None
    fallback_reason: str | None = None
