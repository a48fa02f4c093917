"""The product's one OAuth 2.0 (3LO) app, and Atlassian's authorization server as the app meets it.

Every customer connects through this one app (Atlassian's rules for integrations since 2026-01-01:
no customer API tokens, no OAuth app per customer). Its client id and secret are the deployment's
configuration: one Secrets Manager secret `{"client_id", "client_secret"}` named by the template
parameter OAuthAppSecretName (setting OAUTH_APP_SECRET_NAME), never a team's input.

Here: the authorize URL, the code exchange, the refresh grant (spent by tokens.TokenStore under its
lease), and the sites a grant covers (`accessible-resources`). Atlassian's own text is never passed
on: a refusal is one of a few fixed reasons.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from jira_onboarding import aws
from jira_onboarding.errors import GrantRevokedError, JiraAuthError
from jira_onboarding.settings import get_settings

__all__ = ["GrantRevokedError"]  # raised here, defined with the other Jira errors

# What the pipeline's calls need, and no more (each checked against the specs in
# ../shared/jira-openapi/: tests/unit/jira_access/test_oauth_app.py):
#   read:jira-work          issue search, bulk changelogs, fields, projects (platform API)
#   read:jira-user          users (matching) and /myself
#   manage:jira-webhook     the dynamic webhooks live updates register, refresh and delete
#   read:board-scope:jira-software, read:board-scope.admin:jira-software
#                           boards and their configuration (the estimation field): Agile API
#                           (the spec also names granular read:project:jira, which read:jira-work covers)
#   read:sprint:jira-software  a board's sprints
#   report:personal-data    the personal data reporting API (apps that store personal data)
#   offline_access          a refresh token, so syncs run while nobody is signed in
SCOPES = (
    "read:jira-work",
    "read:jira-user",
    "manage:jira-webhook",
    "read:board-scope:jira-software",
    "read:board-scope.admin:jira-software",
    "read:sprint:jira-software",
    "report:personal-data",
    "offline_access",
)
# Without these a connection cannot sync at all; the others degrade one feature (told on the page).
REQUIRED_SCOPES = frozenset({"read:jira-work", "read:jira-user", "offline_access"})
# Refreshes Atlassian answers this way mean the grant is gone (revoked, the user left, 90 days
# idle): "reconnect", not "retry".
GRANT_GONE_ERRORS = frozenset({"invalid_grant", "unauthorized_client", "access_denied"})


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never the secret, whatever prints this
        return f"AppCredentials(client_id={self.client_id!r})"


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_in: float
    scopes: frozenset[str]

    def __repr__(self) -> str:
        return f"Grant(scopes={sorted(self.scopes)!r})"


@dataclass(frozen=True)
class SiteResource:
    cloud_id: str
    url: str
    name: str
    scopes: frozenset[str]


def app_credentials() -> AppCredentials:
    """The app's client id and secret (cached a short while: aws.secret_json)."""
    settings = get_settings()
    if not settings.oauth_app_secret_name:
        raise JiraAuthError("This deployment has no OAuth app configured (OAUTH_APP_SECRET_NAME).")
    value = aws.secret_json(settings.oauth_app_secret_name, settings.region)
    if not isinstance(value, dict) or not value.get("client_id") or not value.get("client_secret"):
        raise JiraAuthError("The OAuth app's secret must hold client_id and client_secret.")
    return AppCredentials(str(value["client_id"]), str(value["client_secret"]))


def authorize_url(client_id: str, redirect_uri: str, state: str) -> str:
    """Atlassian's consent page for this app, asking for SCOPES (`prompt=consent`: the person sees
    what is asked every time, and may pick the site)."""
    query = urlencode(
        {
            "audience": "api.atlassian.com",
            "client_id": client_id,
            "scope": " ".join(SCOPES),
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "prompt": "consent",
        }
    )
    return f"{get_settings().atlassian_auth_url}/authorize?{query}"


def _token_call(http: httpx.Client, body: dict[str, Any], token_url: str | None = None) -> dict[str, Any]:
    response = http.post(token_url or f"{get_settings().atlassian_auth_url}/oauth/token", json=body)
    if response.status_code == 200:
        answer = response.json()
        if isinstance(answer, dict) and isinstance(answer.get("access_token"), str):
            return answer
        raise JiraAuthError("Atlassian's token endpoint answered without an access token.")
    error = ""
    with contextlib.suppress(ValueError, AttributeError):
        error = str(response.json().get("error", ""))
    if response.status_code in (400, 401, 403) and error in GRANT_GONE_ERRORS:
        raise GrantRevokedError(f"Atlassian refused the grant ({error}); reconnect Jira.")
    raise JiraAuthError(f"Atlassian's token endpoint answered HTTP {response.status_code}; try again.")


def _grant(answer: dict[str, Any], previous_refresh: str | None = None) -> Grant:
    refresh = answer.get("refresh_token") or previous_refresh
    if not isinstance(refresh, str) or not refresh:
        raise JiraAuthError("Atlassian granted no refresh token (offline_access was not granted).")
    return Grant(
        access_token=str(answer["access_token"]),
        refresh_token=refresh,
        expires_in=float(answer.get("expires_in", 3600)),
        scopes=frozenset(str(answer.get("scope", "")).split()),
    )


def exchange_code(http: httpx.Client, app: AppCredentials, code: str, redirect_uri: str) -> Grant:
    """The authorization code grant (the code is single use, and bound to `redirect_uri`)."""
    answer = _token_call(
        http,
        {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        },
    )
    return _grant(answer)


def refresh_grant(
    http: httpx.Client, app: AppCredentials, refresh_token: str, *, token_url: str | None = None
) -> Grant:
    """The refresh grant: Atlassian rotates the refresh token (the old one is spent)."""
    answer = _token_call(
        http,
        {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": refresh_token,
        },
        token_url,
    )
    return _grant(answer, previous_refresh=refresh_token)


def accessible_resources(http: httpx.Client, access_token: str) -> list[SiteResource]:
    """The sites the grant covers (there may be several; the person chooses one per team)."""
    response = http.get(
        f"{get_settings().atlassian_api_url}/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if response.status_code != 200:
        raise JiraAuthError(f"Atlassian did not list the grant's sites (HTTP {response.status_code}).")
    sites = []
    for entry in response.json() if isinstance(response.json(), list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("url"), str):
            sites.append(
                SiteResource(
                    cloud_id=entry["id"].lower(),
                    url=entry["url"],
                    name=str(entry.get("name") or entry["url"]),
                    scopes=frozenset(s for s in entry.get("scopes") or [] if isinstance(s, str)),
                )
            )
    return sites


def site_api_base(cloud_id: str) -> str:
    """Where a connection's Jira calls go: `{ATLASSIAN_API_URL}/ex/jira/{cloudId}`."""
    return f"{get_settings().atlassian_api_url}/ex/jira/{cloud_id.lower()}"
