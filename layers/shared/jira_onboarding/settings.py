"""Settings read from the environment, lazily: never at import time, and resettable in tests."""

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class TableNames(BaseModel):
    """Physical DynamoDB table names, one per logical table in `template.yaml`."""

    tracked_projects: str = Field(alias="TRACKED_PROJECTS_TABLE")
    team_members: str = Field(alias="TEAM_MEMBERS_TABLE")
    jira_users: str = Field(alias="JIRA_USERS_TABLE")
    jira_issues: str = Field(alias="JIRA_ISSUES_TABLE")
    jira_boards: str = Field(alias="JIRA_BOARDS_TABLE")
    jira_sprints: str = Field(alias="JIRA_SPRINTS_TABLE")
    onboarding_runs: str = Field(alias="ONBOARDING_RUNS_TABLE")
    jira_connections: str = Field(alias="JIRA_CONNECTIONS_TABLE")
    idempotency: str = Field(alias="IDEMPOTENCY_TABLE")
    pull_requests: str = Field(alias="PULL_REQUESTS_TABLE")
    metrics_snapshots: str = Field(alias="METRICS_SNAPSHOTS_TABLE")
    insights: str = Field(alias="INSIGHTS_TABLE")
    webhook_endpoints: str = Field(default="", alias="WEBHOOK_ENDPOINTS_TABLE")
    live_updates: str = Field(default="", alias="LIVE_UPDATES_TABLE")
    # One item per Jira site (not per team): the site's shared rate budget. Empty: no shared pacing.
    jira_site_budgets: str = Field(default="", alias="JIRA_SITE_BUDGETS_TABLE")
    # One item per OAuth authorization in flight: its single-use state, then the grant until a site is chosen.
    oauth_states: str = Field(default="", alias="OAUTH_STATES_TABLE")


class Settings(BaseModel):
    """Everything the functions read from their environment."""

    stage: str = Field(default="dev", alias="STAGE")
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    team_claim: str = Field(default="team_id", alias="TEAM_CLAIM")
    secrets_prefix: str = Field(default="jira-onboarding/dev/", alias="SECRETS_PREFIX")
    state_machine_arn: str | None = Field(default=None, alias="STATE_MACHINE_ARN")
    # Seconds a sync invocation keeps in reserve before its timeout: it stops fetching and
    # returns its cursor once less than this is left.
    sync_time_reserve_s: float = Field(default=20.0, alias="SYNC_TIME_RESERVE_SECONDS")
    jira_page_size: int = Field(default=100, alias="JIRA_PAGE_SIZE", ge=1, le=5000)
    jira_timeout_s: float = Field(default=20.0, alias="JIRA_TIMEOUT_SECONDS")
    # A Retry-After up to this many seconds is waited out inside the Lambda; longer waits are
    # handed to the state machine's Wait state.
    jira_max_inline_wait_s: float = Field(default=5.0, alias="JIRA_MAX_INLINE_WAIT_SECONDS")
    # The most one Jira call may take, answer included (a server dripping bytes is cut off here).
    jira_request_deadline_s: float = Field(default=60.0, alias="JIRA_REQUEST_DEADLINE_SECONDS", gt=0)
    # The most a Jira answer may weigh; reading stops there.
    jira_max_body_bytes: int = Field(default=32 * 1024 * 1024, alias="JIRA_MAX_BODY_BYTES", ge=1024)
    # Caps of every paging loop (each loop also has its own, lower ones: see jira/client.py).
    jira_paging_max_pages: int = Field(default=20_000, alias="JIRA_PAGING_MAX_PAGES", ge=1)
    jira_paging_max_items: int = Field(default=2_000_000, alias="JIRA_PAGING_MAX_ITEMS", ge=1)
    jira_paging_max_s: float = Field(default=3600.0, alias="JIRA_PAGING_MAX_SECONDS", gt=0)
    # Requests per second every caller of one Jira site shares (its burst limit, as configured for
    # the site); NearLimit headers lower it until the quota resets.
    jira_site_requests_per_second: float = Field(default=100.0, alias="JIRA_SITE_REQUESTS_PER_SECOND", gt=0)
    # Longest a burst 429 (`jira-burst-based`) pauses its endpoint for the whole site: burst buckets
    # refill in seconds, so a longer Retry-After is taken as this and learned again from the next 429.
    jira_max_burst_pause_s: float = Field(default=60.0, alias="JIRA_MAX_BURST_PAUSE_SECONDS", gt=0)
    # Base of the client's in-Lambda exponential backoff (Atlassian: ~2 s, x2 per retry, 0.7-1.3 jitter).
    jira_backoff_base_s: float = Field(default=2.0, alias="JIRA_BACKOFF_BASE_SECONDS", ge=0)
    # Amazon Bedrock model (or inference profile) id for the insights; empty = the offline generator.
    bedrock_model_id: str = Field(default="", alias="BEDROCK_MODEL_ID")
    # Sprint metrics cover the active sprint and this many closed sprints per board.
    metrics_closed_sprints: int = Field(default=6, alias="METRICS_CLOSED_SPRINTS", ge=1, le=50)
    # PR <-> Jira linkage looks at PRs merged in this many days before the computation.
    metrics_window_days: int = Field(default=30, alias="METRICS_WINDOW_DAYS", ge=1, le=365)
    # Atlassian's two hosts for the one OAuth 2.0 (3LO) app (logic/jira_access/oauth_app.py): the
    # authorization server (/authorize, /oauth/token) and the API gateway (accessible-resources,
    # /ex/jira/{cloudId}). Only the local harness points them elsewhere (the simulator, on loopback).
    atlassian_auth_url: str = Field(default="https://auth.atlassian.com", alias="ATLASSIAN_AUTH_URL")
    atlassian_api_url: str = Field(default="https://api.atlassian.com", alias="ATLASSIAN_API_URL")
    # The app's client id and secret: one Secrets Manager secret {"client_id", "client_secret"},
    # the deployment's configuration (template parameter OAuthAppSecretName), never a team's input.
    oauth_app_secret_name: str = Field(default="", alias="OAUTH_APP_SECRET_NAME")
    # Where the OAuth callback sends the browser back to (the page); empty = this API's own origin.
    app_url: str = Field(default="", alias="APP_URL")
    # Connections with an API token (or a raw bearer token) through the API: only a single-company
    # self-hosted deployment opts in (template parameter AllowApiTokenConnections); a SaaS must not
    # collect its customers' tokens (Atlassian, since 2026-01-01).
    api_token_connections: bool = Field(default=False, alias="API_TOKEN_CONNECTIONS")
    # The one KMS key the teams' Jira credentials are envelope-encrypted under (credentials.py).
    credentials_key_id: str | None = Field(default=None, alias="CREDENTIALS_KEY_ID")
    # The nightly fan-out: one EventBridge Scheduler schedule per team (logic/nightly/schedules.py).
    nightly_schedule_group: str | None = Field(default=None, alias="NIGHTLY_SCHEDULE_GROUP")
    nightly_function_arn: str | None = Field(default=None, alias="NIGHTLY_FUNCTION_ARN")
    nightly_schedule_role_arn: str | None = Field(default=None, alias="NIGHTLY_SCHEDULE_ROLE_ARN")
    # Each team's nightly start falls somewhere in this window after 02:00 UTC (Scheduler's
    # flexible time window), which spreads 100,000 starts over hours instead of one second.
    nightly_window_minutes: int = Field(default=240, alias="NIGHTLY_WINDOW_MINUTES", ge=1, le=1440)
    # Live updates (Jira webhooks): the queue the receiver fills and the consumer drains.
    live_updates_queue_url: str = Field(default="", alias="LIVE_UPDATES_QUEUE_URL")
    # Public base URL of the API for the webhook URL; empty = taken from the registering request.
    webhook_base_url: str = Field(default="", alias="WEBHOOK_BASE_URL")
    # Live changes recompute a team's metrics at most once per this many seconds (<= 5 minutes,
    # so a change is reflected within 5 minutes), after letting a burst settle for a few seconds.
    live_metrics_interval_s: int = Field(default=120, alias="LIVE_METRICS_INTERVAL_SECONDS", ge=1, le=300)
    live_metrics_settle_s: int = Field(default=2, alias="LIVE_METRICS_SETTLE_SECONDS", ge=0, le=60)
    # Dynamic webhooks carry no sprint events: the sprints of a project whose issues changed are
    # refreshed from Jira at most once per this many seconds.
    live_sprint_refresh_s: int = Field(default=60, alias="LIVE_SPRINT_REFRESH_SECONDS", ge=0, le=3600)
    # The personal data reports (logic/privacy/): the queue the dispatcher fills and the reporter drains.
    privacy_reports_queue_url: str = Field(default="", alias="PRIVACY_REPORTS_QUEUE_URL")
    tables: TableNames

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
        return cls.model_validate({**env, "tables": TableNames.model_validate(env)})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; `get_settings.cache_clear()` re-reads the environment."""
    return Settings.from_env()
