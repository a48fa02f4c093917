"""The one gateway to a team's Jira: every call the pipeline makes opens its client here.

`open_jira` reads the stored credentials (the envelope, or OAuth tokens that refresh themselves),
checks the site again (credentials go only where jira_sites.py allows), books the site's budget
(budget/), and connects the Jira client with the deployment's timeouts and paging bounds.
"""

from __future__ import annotations

from typing import Any

from jira_onboarding.budget import Priority, site_pacer
from jira_onboarding.credentials import stored_credentials
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import GrantRevokedError, NotConnectedError, OnboardingRequestError
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.jira.paging import PagingLimits
from jira_onboarding.jira_sites import JiraSiteError, checked_base_url
from jira_onboarding.logic.jira_access.tokens import TokenStore, seal_for
from jira_onboarding.settings import get_settings


def checked_site(base_url: str) -> str:
    try:
        return checked_base_url(base_url)
    except JiraSiteError as exc:
        raise OnboardingRequestError(
            f"The Jira site URL {exc}; register the connection again with the site's address."
        ) from exc


def token_store(repo: TeamStores) -> TokenStore:
    return TokenStore(repo)


def add_to_credentials(team_id: str, values: dict[str, str]) -> bool:
    """Seal `values` into the team's credentials beside what is there (the admin webhook's signing
    secret lives with the API token it belongs to). False if the connection has no envelope yet
    (not migrated) or changed meanwhile."""
    store = TeamStores(team_id).connection
    connection = store.get()
    if connection is None or not connection.credentials_envelope:
        return False
    current = stored_credentials(team_id, connection)
    if current is None:
        return False
    sealed = seal_for(team_id, {**current, **values})
    return store.swap_credentials(connection.credentials_envelope, sealed)


def load_credentials(team_id: str, repo: TeamStores) -> tuple[JiraCredentials, TokenStore | None]:
    """The team's credentials, and for OAuth the store that can refresh them."""
    connection = repo.connection.get()
    if connection is None:
        raise NotConnectedError(team_id)
    if connection.reconnect_reason:
        # No refresh, no call: the grant is gone until the team reconnects (one refusal per run).
        raise GrantRevokedError(connection.reconnect_reason)
    # Checked again at every use, not only when registered: credentials go where this URL says.
    site_url = checked_site(connection.site_url)
    if connection.auth_kind in {"api_token", "bearer"}:
        secret = stored_credentials(team_id, connection)
        if secret is None:
            raise OnboardingRequestError(
                "The stored Jira credentials are unreadable; register the connection again."
            )
        if connection.auth_kind == "bearer":
            return JiraCredentials(
                base_url=site_url, auth_kind="bearer", access_token=secret.get("access_token")
            ), None
        credentials = JiraCredentials(
            base_url=site_url,
            auth_kind="api_token",
            email=secret.get("email"),
            api_token=secret.get("api_token"),
        )
        return credentials, None
    store = token_store(repo)
    credentials = JiraCredentials(base_url=site_url, auth_kind="oauth", access_token=store.access_token())
    return credentials, store


def open_jira(
    team_id: str,
    repo: TeamStores,
    *,
    time_left_s: Any = None,
    priority: Priority = Priority.ONBOARDING,
    run_id: str | None = None,
) -> JiraClient:
    settings = get_settings()
    credentials, store = load_credentials(team_id, repo)

    used = {"access_token": credentials.access_token}

    def refreshed_header() -> str | None:
        # A 401 mid-sync: the access token expired early or was revoked; refresh once. If another
        # Lambda already rotated the tokens, use its access token instead of rotating again.
        if store is None or used["access_token"] is None:
            return None
        tokens = store.current()
        if tokens.access_token != used["access_token"]:
            used["access_token"] = tokens.access_token
        else:
            used["access_token"] = store.refresh(spent=tokens.refresh_token)
        return f"Bearer {used['access_token']}"

    return JiraClient.connect(
        credentials,
        timeout_s=settings.jira_timeout_s,
        max_inline_wait_s=settings.jira_max_inline_wait_s,
        backoff_base_s=settings.jira_backoff_base_s,
        time_left_s=time_left_s,
        on_unauthorized=refreshed_header if store else None,
        request_deadline_s=settings.jira_request_deadline_s,
        max_body_bytes=settings.jira_max_body_bytes,
        paging_limits=PagingLimits(
            max_pages=settings.jira_paging_max_pages,
            max_items=settings.jira_paging_max_items,
            max_seconds=settings.jira_paging_max_s,
        ),
        pacer=site_pacer(
            credentials,
            priority=priority,
            time_left_s=time_left_s,
            record=(lambda calls, points: repo.runs.add_jira_cost(run_id, calls, points)) if run_id else None,
        ),
    )
