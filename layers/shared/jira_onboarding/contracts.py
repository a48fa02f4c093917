"""Input and output models at every boundary: the HTTP API and the state machine's tasks."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Jira project keys: an uppercase letter, then uppercase letters, digits or underscores.
PROJECT_KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
MAX_PROJECTS_PER_RUN = 50


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartOnboardingRequest(Contract):
    """POST /jira/onboarding body."""

    project_keys: list[str] = Field(min_length=1, max_length=MAX_PROJECTS_PER_RUN)

    @field_validator("project_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        cleaned: list[str] = []
        for raw in keys:
            key = raw.strip().upper()
            if not PROJECT_KEY_PATTERN.match(key):
                raise ValueError(
                    f"{raw!r} is not a Jira project key (an uppercase letter, then up to 9 letters, "
                    "digits or underscores, e.g. ALPHA)"
                )
            if key not in cleaned:
                cleaned.append(key)
        return cleaned


class StartOnboardingResponse(BaseModel):
    run_id: str
    status_url: str
    project_keys: list[str]
    status: str


class StepInput(BaseModel):
    """What every state machine task receives; extra keys from the state (error, etc.) are kept."""

    model_config = ConfigDict(extra="ignore")
    team_id: str = Field(min_length=1)
    run_id: str = Field(min_length=1)


class ProjectStepInput(StepInput):
    project_key: str = Field(min_length=1)


class RunOutcome(StepInput):
    """Finish Run input: the whole execution state; `users_error` is there when Sync Users failed."""

    users_error: dict[str, Any] | None = None


class ProjectPageResult(BaseModel):
    """Output of one Sync Project Page invocation; the Choice state reads `done` and `wait_seconds`."""

    team_id: str
    run_id: str
    project_key: str
    done: bool
    wait_seconds: int = 0
    pages_synced: int = 0
    issues_stored: int = 0


class ProjectFailure(ProjectStepInput):
    """Mark Project Failed input: the Catch puts Step Functions' {Error, Cause} under `error`."""

    error: dict[str, Any] = Field(default_factory=dict)


class UsersSummary(BaseModel):
    users_fetched: int
    users_stored: int
    members: int
    matched: int
    ambiguous: list[dict[str, Any]] = Field(default_factory=list)
    unmatched_members: list[str] = Field(default_factory=list)
    unmatched_jira_users: int = 0
    skipped_jira_users: int = 0


class ProjectProgress(BaseModel):
    project_key: str
    status: str
    issues_stored: int
    issues_total_estimate: int | None = None
    percent: int | None = None
    reason: str | None = None
    next_retry_at: str | None = None
    updated_at: str | None = None


class RunStatusResponse(BaseModel):
    run_id: str
    status: str
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    done: bool
    users: dict[str, Any] | None
    users_error: str | None = None
    reason: str | None = None
    projects: list[ProjectProgress]
