"""Plain records the logic works with; data access converts them to and from table items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SyncStatus(StrEnum):
    PENDING = "PENDING"
    SYNCING = "SYNCING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    COMPLETE_WITH_FAILURES = "COMPLETE_WITH_FAILURES"
    FAILED = "FAILED"


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TrackedProject(Record):
    team_id: str
    project_key: str
    sync_status: SyncStatus = SyncStatus.PENDING
    run_id: str | None = None
    cursor: str | None = None
    pages_synced: int = 0
    issues_stored: int = 0
    issues_total_estimate: int | None = None
    estimation_field: str | None = None
    reason: str | None = None
    error_name: str | None = None
    next_retry_at: datetime | None = None
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


class OnboardingRun(Record):
    team_id: str
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    project_keys: list[str] = Field(default_factory=list)
    execution_arn: str | None = None
    users_fetched: int | None = None
    users_matched: int | None = None
    users_summary: dict | None = None
    users_error: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JiraConnection(Record):
    team_id: str
    site_url: str
    auth_kind: str
    secret_name: str
    field_map: dict | None = None
