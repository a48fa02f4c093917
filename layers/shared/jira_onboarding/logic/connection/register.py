"""A team's Jira connection: site URL, auth kind and the envelope-encrypted credentials in one item."""

from __future__ import annotations

import time
from typing import Any

import httpx

from jira_onboarding.contracts import ConnectionRequest, ConnectionResponse
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import (
    JiraAuthError,
    JiraError,
    JiraPermissionError,
    JiraThrottledError,
    JiraTimeoutError,
    JiraUnreachableError,
    OnboardingRequestError,
)
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.logic.jira_access.gateway import checked_site
from jira_onboarding.logic.jira_access.tokens import OAuthTokens, delete_legacy_secret, seal_for
from jira_onboarding.logic.nightly.schedules import ensure_nightly_schedule
from jira_onboarding.settings import Settings, get_settings

AUTH_KINDS = ("api_token", "oauth", "bearer")


def secret_name_for(team_id: str, settings: Settings | None = None) -> str:
    """Where a connection registered before the envelope kept its credentials (Secrets Manager)."""
    settings = settings or get_settings()
    return f"{settings.secrets_prefix}team/{team_id}/jira"


def _credentials_value(auth_kind: str, credentials: dict[str, Any]) -> dict[str, Any]:
    if auth_kind == "oauth":
        # Validate the token set now: a missing refresh token would fail at the first refresh.
        return OAuthTokens.model_validate(credentials).model_dump()
    if auth_kind == "bearer":
        if not credentials.get("access_token"):
            raise OnboardingRequestError("A bearer connection needs an `access_token`.")
        return {"access_token": credentials["access_token"]}
    if not credentials.get("email") or not credentials.get("api_token"):
        raise OnboardingRequestError("An API-token connection needs both `email` and `api_token`.")
    return {"email": credentials["email"], "api_token": credentials["api_token"]}


def register_connection(
    team_id: str,
    site_url: str,
    auth_kind: str,
    credentials: dict[str, Any],
    *,
    site: dict[str, Any] | None = None,
) -> None:
    """Store where the team's Jira is and how to sign in, the credentials envelope-encrypted in the
    connection item (jira_onboarding/credentials.py); they never touch a log or another table.
    Also puts the team's nightly schedule in place."""
    if auth_kind not in AUTH_KINDS:
        raise OnboardingRequestError(f"auth_kind must be one of {', '.join(AUTH_KINDS)}.")
    site_url = checked_site(site_url)
    value = _credentials_value(auth_kind, credentials)
    store = TeamStores(team_id).connection
    previous = store.get()
    from jira_onboarding.logic.live.registration import kept_webhook_secret  # lazy: cold starts

    value = {**value, **kept_webhook_secret(team_id, previous, site_url, auth_kind)}
    store.save(site_url, auth_kind, credentials_envelope=seal_for(team_id, value), site=site)
    if previous is not None and previous.secret_name:
        delete_legacy_secret(previous.secret_name)  # registered again before its migration
    ensure_nightly_schedule(team_id)


def _refusal(exc: JiraError, site: str) -> str:
    """Why the check failed, in our words: Jira's own text is never quoted back (a remote body in
    an answer would make this route a reader of whatever the URL points at)."""
    if isinstance(exc, JiraAuthError):
        return "Jira refused the credentials (HTTP 401): check the email and API token, or the access token."
    if isinstance(exc, JiraPermissionError):
        return "Jira refused these credentials access to the site (HTTP 403): check the account's access."
    if isinstance(exc, JiraUnreachableError | JiraTimeoutError):
        return f"Cannot reach Jira at {site}: check the site URL."
    if isinstance(exc, JiraThrottledError):
        return "Jira is rate limiting these credentials; try again in a minute."
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"{site} did not answer as a Jira Cloud site{status}: check the site URL."


OAUTH_HOW = (
    "Connect Jira with the page's Connect Jira button (POST /jira/oauth/authorize): it goes through "
    "Atlassian's consent page for this product's app."
)


def _refuse_collected_credentials(request: ConnectionRequest) -> None:
    """Atlassian's rules for apps (since 2026-01-01): no customer's own OAuth app, and API tokens
    only where a single company runs its own deployment and opted in (AllowApiTokenConnections)."""
    if request.client_id or request.client_secret:
        raise OnboardingRequestError(
            "This product connects through its own OAuth app: do not send a client_id or client_secret. "
            + OAUTH_HOW
        )
    if request.auth_kind == "oauth":
        raise OnboardingRequestError("OAuth connections are not made with this route. " + OAUTH_HOW)
    if not get_settings().api_token_connections:
        raise OnboardingRequestError(
            "This deployment does not accept API tokens: Atlassian does not allow apps to collect them. "
            + OAUTH_HOW
            + " A self-hosted deployment for one company can opt in"
            " (template parameter AllowApiTokenConnections)."
        )


def connect_jira(
    team_id: str, request: ConnectionRequest, *, api_base_url: str | None = None
) -> ConnectionResponse:
    """Check the site and credentials with one call to Jira, then store the connection.
    `api_base_url`: where this API is reached, for the webhook URL (see WEBHOOK_BASE_URL).
    A wrong URL or refused credentials come back as a 400 a person can act on; nothing is stored.
    The client follows no redirect (httpx's default): a 3xx is "not a Jira site", never a hop."""
    from pydantic import ValidationError

    _refuse_collected_credentials(request)
    secret = request.secret(time.time())
    site = checked_site(request.base_url())
    credentials = JiraCredentials(
        base_url=site,
        auth_kind=request.auth_kind,
        email=secret.get("email"),
        api_token=secret.get("api_token"),
        access_token=secret.get("access_token"),
    )
    unsendable = "The site URL or credentials cannot be sent to Jira as given."
    try:
        client = JiraClient.connect(credentials, timeout_s=10.0, max_attempts=1)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise OnboardingRequestError(unsendable) from exc
    try:
        me = client.myself()
    except JiraError as exc:
        raise OnboardingRequestError(_refusal(exc, site), status=400) from exc
    except ValidationError as exc:  # a 2xx that is not Jira's user
        raise OnboardingRequestError(
            f"{site} did not answer as a Jira Cloud site: check the site URL."
        ) from exc
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise OnboardingRequestError(unsendable) from exc
    finally:
        client.close()
    register_connection(team_id, site, request.auth_kind, secret)
    from jira_onboarding.logic.live.registration import enable_live_updates  # lazy: cold starts

    return ConnectionResponse(
        site_url=site,
        auth_kind=request.auth_kind,
        jira_account=me.display_name or me.account_id,
        live_updates=enable_live_updates(team_id, base_url=api_base_url),
    )
