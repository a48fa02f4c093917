"""Input and output models at every boundary: the HTTP API and the state machine's tasks.

The modules that define pydantic models do not use `from __future__ import annotations`: pydantic
would evaluate every string annotation again when it creates the class, a third of the ~0.5 ms each
model class costs a cold start.
"""

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from jira_onboarding.jira_sites import CLOUD_ID_PATTERN, jira_site_origin, oauth_site_origin

# Jira's project key syntax: 2 to 10 characters, an uppercase letter, then uppercase letters, digits
# or underscores. Input is checked as sent (ASCII letters of either case), before it is uppercased:
# `str.upper()` turns some non-ASCII letters into ASCII ones ("ßalpha" -> "SSALPHA").
PROJECT_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{1,9}")
_PROJECT_KEY_INPUT = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,9}")
MAX_PROJECTS_PER_RUN = 50
QUOTED_INPUT_CHARS = 24  # an error quotes at most this much of what was sent


def quoted(raw: str) -> str:
    """What an error message quotes of a caller's input: short, so a 10 KB value is not echoed."""
    return repr(raw if len(raw) <= QUOTED_INPUT_CHARS else raw[:QUOTED_INPUT_CHARS] + "...")


class BoundaryModel(BaseModel):
    """Every boundary model. Built on first use, not at import: each function uses two or three
    of these, and building the schemas of all of them cost ~60 ms of every cold start."""

    model_config = ConfigDict(defer_build=True)


class Contract(BoundaryModel):
    model_config = ConfigDict(extra="forbid")


# The values of records.SyncStatus and records.RunStatus as the API answers them (a unit test holds
# them equal): the document lists them as enums without importing the records into every function.
SyncStatusName = Literal["PENDING", "SYNCING", "COMPLETE", "FAILED"]
RunStatusName = Literal["QUEUED", "RUNNING", "COMPLETE", "COMPLETE_WITH_FAILURES", "FAILED"]


class ErrorResponse(BoundaryModel):
    """Every error answer of the API (api/resolver.py): a sentence saying what to fix; a 400 of the
    request validation also lists each problem (at most 10, each bounded)."""

    message: str
    problems: list[str] | SkipJsonSchema[None] = None


class StartOnboardingRequest(Contract):
    """POST /jira/onboarding body."""

    project_keys: list[str] = Field(min_length=1, max_length=MAX_PROJECTS_PER_RUN)

    @field_validator("project_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        cleaned: list[str] = []
        for raw in keys:
            stripped = raw.strip(" ")
            if not (raw.isascii() and _PROJECT_KEY_INPUT.fullmatch(stripped)):
                raise ValueError(
                    f"{quoted(raw)} is not a Jira project key (a letter, then 1 to 9 letters, "
                    "digits or underscores, e.g. ALPHA)"
                )
            key = stripped.upper()
            if key not in cleaned:
                cleaned.append(key)
        return cleaned


class ConnectionRequest(Contract):
    """POST /jira/connection body. Credentials go to Secrets Manager; they are never echoed or logged."""

    site_url: str | None = Field(default=None, max_length=200, examples=["https://acme.atlassian.net"])
    cloud_id: str | None = Field(
        default=None, pattern=CLOUD_ID_PATTERN, examples=["1324a887-45db-1bf4-1e99-ef0ff456d421"]
    )
    auth_kind: Literal["api_token", "oauth", "bearer"]
    email: str | None = Field(default=None, max_length=254)
    api_token: SecretStr | None = None
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: SecretStr | None = None
    expires_in: int | None = Field(default=None, ge=0, le=86400)

    @field_validator("email", "client_id", "api_token", "access_token", "refresh_token", "client_secret")
    @classmethod
    def _printable_ascii(cls, value: Any) -> Any:
        # They travel in HTTP headers and Atlassian issues them as ASCII: anything else is a typo.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is not None and not (raw.isascii() and raw.isprintable() and raw.strip() == raw and raw):
            raise ValueError("must be printable ASCII without surrounding spaces")
        return value

    @field_validator("site_url")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        # Only Jira Cloud origins: see jira_sites.py (the check that stops SSRF through this field).
        return None if value is None else jira_site_origin(value)

    @field_validator("cloud_id")
    @classmethod
    def _cloud_id(cls, value: str | None) -> str | None:
        return None if value is None else oauth_site_origin(value).rsplit("/", 1)[-1]

    @model_validator(mode="after")
    def _complete(self) -> "ConnectionRequest":
        if self.auth_kind != "oauth" and (self.site_url is None) == (self.cloud_id is None):
            raise ValueError("give exactly one of site_url (API token) or cloud_id (OAuth)")
        # (oauth: refused by the route with a sentence on how to connect: logic/connection/register.py)
        needed = {"api_token": ("email", "api_token"), "oauth": (), "bearer": ("access_token",)}[
            self.auth_kind
        ]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth_kind {self.auth_kind} needs {', '.join(missing)}")
        return self

    def base_url(self) -> str:
        if self.cloud_id:
            return oauth_site_origin(self.cloud_id)
        return str(self.site_url)

    def secret(self, now: float) -> dict[str, Any]:
        def reveal(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value else None

        if self.auth_kind == "api_token":
            return {"email": self.email, "api_token": reveal(self.api_token)}
        if self.auth_kind == "bearer":
            return {"access_token": reveal(self.access_token)}
        return {
            "client_id": self.client_id,
            "client_secret": reveal(self.client_secret),
            "access_token": reveal(self.access_token),
            "refresh_token": reveal(self.refresh_token),
            "expires_at": now + (self.expires_in if self.expires_in is not None else 3600),
        }


class LiveUpdatesSetup(BoundaryModel):
    """Live updates in the connection's answer: for an API-token site, what a Jira admin registers
    (the secret appears in this answer only, never in a log or a trace); for OAuth, the webhook the
    app registers itself. Registering the same site again keeps the URL and the secret
    (`secret_unchanged`): the admin webhook already registered in Jira goes on working."""

    webhook_url: str
    registered_by: Literal["jira admin", "app"]
    events: list[str]
    jql: str | None = None
    secret: str | None = None
    secret_unchanged: bool = False


class LiveUpdatesStatus(BoundaryModel):
    enabled: bool = False
    last_event_at: str | None = None
    registration_expires_at: str | None = None
    events_applied: int = 0
    events_dropped: int = 0


class ConnectionResponse(BoundaryModel):
    site_url: str
    auth_kind: str
    jira_account: str
    live_updates: LiveUpdatesSetup | None = None


class DisconnectResponse(BoundaryModel):
    """DELETE /jira/connection: what was removed, and what stays (the synced data)."""

    message: str
    site_url: str
    webhook_deleted: bool | None = None  # None: no dynamic webhook was registered
    nightly_schedule_deleted: bool = False
    data_kept: bool = True
    # With `erase_personal_data=true`: how many Jira accounts' names and emails were deleted.
    jira_accounts_deleted: int | None = None


class StartOnboardingResponse(BoundaryModel):
    run_id: str
    status_url: str
    project_keys: list[str]
    # RUNNING: the execution started; PENDING: queued for the nightly sync (logic/run/start.py).
    status: Literal["PENDING", "RUNNING"]


class CurrentRunResponse(BoundaryModel):
    """GET /jira/onboarding: the team's newest run (the one in progress, else the last one)."""

    run_id: str
    status: RunStatusName
    status_url: str
    done: bool
    project_keys: list[str]
    started_at: str | None = None
    finished_at: str | None = None


class WebhookAccepted(BoundaryModel):
    """POST /jira/webhooks/{connection_id}: the delivery is queued (applied within seconds)."""

    accepted: bool


class StepInput(BoundaryModel):
    """What every state machine task receives; extra keys from the state (error, etc.) are kept."""

    model_config = ConfigDict(extra="ignore")
    team_id: str = Field(min_length=1)
    run_id: str = Field(min_length=1)


class ProjectStepInput(StepInput):
    """One segment of a project (see logic/run/plan.py); "all" when the project is not split."""

    project_key: str = Field(min_length=1)
    segment: str = Field(default="all", min_length=1, max_length=40)
    # Sync Segment invocations so far for this segment: the state machine's "More Pages?" bound.
    invocations: int = Field(default=0, ge=0)


class SegmentRef(BoundaryModel):
    """One segment as the plan names it in the execution's state: the Sync Segments Map adds the
    team and the run (its ItemSelector), so 50 projects of 33 segments stay far under 256 KB."""

    project_key: str = Field(min_length=1)
    segment: str = Field(default="all", min_length=1, max_length=40)


class PhasePlan(BoundaryModel):
    name: str  # recent | backfill
    segments: list[SegmentRef]


class RunPlan(BoundaryModel):
    """Plan Sync output: the phases the state machine runs one after the other, each a Map over
    its segments."""

    team_id: str
    run_id: str
    phases: list[PhasePlan]


class RunOutcome(StepInput):
    """Finish Run input: `users_error` when Sync Users failed, `plan_error` when Plan Sync did."""

    users_error: dict[str, Any] | None = None
    plan_error: dict[str, Any] | None = None


class SegmentResult(BoundaryModel):
    """Output of one Sync Segment invocation; the Choice state reads `done`, `wait_seconds` and
    `invocations` (bounded)."""

    team_id: str
    run_id: str
    project_key: str
    segment: str = "all"
    done: bool
    wait_seconds: int = 0
    invocations: int = 0
    pages_synced: int = 0
    issues_fetched: int = 0  # the run's issues fetched and committed so far


class ProjectFailure(ProjectStepInput):
    """Mark Project Failed input: the Catch puts Step Functions' {Error, Cause} under `error`."""

    error: dict[str, Any] = Field(default_factory=dict)


class UsersSummary(BoundaryModel):
    users_fetched: int  # all of them are stored
    users_written: int = 0  # new or changed users (unchanged ones are not rewritten)
    # Set when a nightly run did not fetch the users again (done recently, members unchanged).
    refresh_skipped: str | None = None
    members: int
    matched: int
    matched_by_evidence: int = 0  # of `matched`: by their pull requests (logic/people/evidence.py)
    # The pull-request evidence of every member left ambiguous or unmatched.
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    ambiguous: list[dict[str, Any]] = Field(default_factory=list)
    unmatched_members: list[str] = Field(default_factory=list)
    unmatched_jira_users: int = 0
    unmatched_jira_user_names: list[str] = Field(default_factory=list)
    skipped_jira_users: int = 0
    matching_error: str | None = None  # matching failed; the users are stored all the same
    # Throttled (a quota pause, the site's budget): the state machine waits this long, then runs
    # the step again; nothing was stored.
    wait_seconds: int = 0


class ProjectProgress(BoundaryModel):
    project_key: str
    status: SyncStatusName
    # While a big project syncs: "recent" (its recent issues first), then "backfill" (older ones).
    phase: Literal["recent", "backfill"] | None = None
    # What the page shows: the issues stored for the project (while a full sync runs, those it has
    # fetched and stored so far).
    issues_stored: int
    issues_total_estimate: int | None = None
    percent: int | None = None
    reason: str | None = None
    next_retry_at: str | None = None
    updated_at: str | None = None
    # Live updates (Jira webhooks) applied to the project since it was connected, and the last one's time.
    live_events_applied: int = 0
    last_live_event_at: str | None = None


class RunStatusResponse(BoundaryModel):
    run_id: str
    status: RunStatusName
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    done: bool
    users: dict[str, Any] | None
    users_error: str | None = None
    reason: str | None = None
    projects: list[ProjectProgress]
    live_updates: LiveUpdatesStatus | None = None
    # What the run's Jira calls cost so far (Jira's points cost model); None before any is recorded.
    jira_calls: int | None = None
    jira_points: int | None = None


class MetricsSummary(BoundaryModel):
    """Compute Metrics output: small on purpose (it lands in the execution state)."""

    team_id: str
    run_id: str
    snapshot_id: str
    boards: int
    sprints: int
    merged_prs: int
    linkage_rate: float | None = None
    insights: int
    generator: str
    unchanged: bool = False  # nothing changed since `snapshot_id`: not computed again
    members_matched: int | None = None  # after matching again with the stored issues (None: no users yet)
    matched_by_evidence: int | None = None
    released_versions: int = 0


class InsightView(BoundaryModel):
    rank: int
    title: str
    detail: str = ""
    category: str = "general"
    severity: str = "info"
    evidence: list[str] = Field(default_factory=list)


class InsightsResponse(BoundaryModel):
    """GET /jira/insights: the insights written for the latest snapshot, best first."""

    snapshot_id: str
    generator: str
    model_id: str | None = None
    fallback_reason: str | None = None
    insights: list[InsightView]


class NightlyTeamEvent(BoundaryModel):
    """What a team's nightly schedule sends (logic/nightly/schedules.py): the team, and the
    schedule's nominal time (`<aws.scheduler.scheduled-time>`, the same for each retry of a night)."""

    model_config = ConfigDict(extra="ignore")
    team_id: str = Field(min_length=1)
    scheduled_time: datetime
