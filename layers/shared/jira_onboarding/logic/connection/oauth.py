"""Connecting a team's Jira through the product's one OAuth 2.0 (3LO) app, both ends ours.

1. `start_authorization` (the team's page, JWT): a single-use `state`, bound to the team and to a
   nonce the browser keeps, valid STATE_TTL_S; the answer is Atlassian's consent URL.
2. `finish_callback` (Atlassian redirects the browser here; no JWT, the `state` authenticates):
   claims the state once, exchanges the code, checks the granted scopes, lists the sites the grant
   covers, and keeps the sealed grant with the state. The browser goes back to the page with an
   outcome word, never a token.
3. `connect_site` (the page again, JWT + the browser's nonce): connects the one site, or the one the
   person chose among several, as the team's connection.
Anything wrong (a forged, replayed or expired state, a denied consent, a missing scope) stores no
connection and ends on the page with a sentence.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from jira_onboarding.contracts import ConnectionResponse
from jira_onboarding.credentials import CredentialsUnreadableError, unseal
from jira_onboarding.dal.oauth_states import OAuthStates, digest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraAuthError, JiraError, OnboardingRequestError
from jira_onboarding.logic.jira_access import oauth_app
from jira_onboarding.logic.jira_access.tokens import seal_for
from jira_onboarding.oauth_contracts import (
    OAuthAuthorizeResponse,
    OAuthConnectRequest,
    OAuthConnectResponse,
    OAuthSite,
)
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

STATE_TTL_S = 600  # from the click to Atlassian's redirect
GRANT_TTL_S = 600  # from the redirect to the site chosen
CALLBACK_PATH = "/jira/oauth/callback"
# The outcome words the page reads from `?jira_oauth=` (web/app.js says each in a sentence).
OUTCOMES = ("granted", "denied", "expired", "missing_scope", "no_site", "failed")


def redirect_uri(api_base_url: str) -> str:
    """The callback URL, exactly as registered in the app's settings in Atlassian's console: under
    WebhookBaseUrl (the API's public base) when set, else under the request's own."""
    base = get_settings().webhook_base_url or api_base_url
    return base.rstrip("/") + CALLBACK_PATH


def start_authorization(team_id: str, browser_nonce: str, api_base_url: str) -> OAuthAuthorizeResponse:
    try:
        app = oauth_app.app_credentials()
    except JiraAuthError as exc:  # the deployment's configuration, not the caller's doing
        logger.error("OAuth app not configured", extra={"error": str(exc)})
        raise OnboardingRequestError(
            "Connecting Jira is not set up on this deployment yet (its OAuth app): tell its administrator.",
            status=503,
        ) from exc
    state = secrets.token_urlsafe(32)
    uri = redirect_uri(api_base_url)
    OAuthStates().create(state, team_id, browser_nonce, uri, STATE_TTL_S)
    return OAuthAuthorizeResponse(
        authorize_url=oauth_app.authorize_url(app.client_id, uri, state), state=state, expires_in=STATE_TTL_S
    )


def page_location(outcome: str) -> str:
    """Where the browser goes after the callback: the page, with the outcome word only."""
    return f"{get_settings().app_url.rstrip('/')}/?{urlencode({'jira_oauth': outcome})}"


def finish_callback(params: dict[str, str], *, http: httpx.Client | None = None) -> str:
    """Atlassian's redirect: the page location to send the browser to (always; nothing is raised)."""
    state = params.get("state") or ""
    now = time.time()
    states = OAuthStates()
    claimed = states.claim(state, now) if 22 <= len(state) <= 128 else None
    if claimed is None:
        logger.warning("OAuth callback refused: unknown, spent or expired state")
        return page_location("expired")
    if params.get("error") or not params.get("code"):
        states.fail(state, "denied", now)
        logger.info("OAuth consent denied", extra={"team_id": claimed.team_id})
        return page_location("denied")
    outcome = "failed"
    try:
        with http or httpx.Client(timeout=15.0) as client:
            outcome = _exchange(states, state, claimed.team_id, params["code"], claimed.redirect_uri, client)
    except (JiraError, httpx.HTTPError, ValueError) as exc:
        logger.warning(
            "OAuth callback failed", extra={"team_id": claimed.team_id, "error": type(exc).__name__}
        )
    if outcome != "granted":
        states.fail(state, outcome, time.time())
    return page_location(outcome)


def _exchange(
    states: OAuthStates, state: str, team_id: str, code: str, uri: str, client: httpx.Client
) -> str:
    grant = oauth_app.exchange_code(client, oauth_app.app_credentials(), code, uri)
    if not grant.scopes >= oauth_app.REQUIRED_SCOPES:
        return "missing_scope"
    sites = [
        {"cloud_id": s.cloud_id, "url": s.url, "name": s.name, "scopes": sorted(s.scopes)}
        for s in oauth_app.accessible_resources(client, grant.access_token)
        if oauth_app.REQUIRED_SCOPES - {"offline_access"} <= s.scopes
    ]
    if not sites:
        return "no_site"
    tokens = {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "expires_at": time.time() + grant.expires_in,
        "scopes": sorted(grant.scopes),
    }
    if not states.grant(state, seal_for(team_id, tokens), sites, time.time(), GRANT_TTL_S):
        return "expired"
    return "granted"


def _granted_tokens(
    team_id: str, request: OAuthConnectRequest
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pending = OAuthStates().get(request.state)
    refused = OnboardingRequestError(
        "This Jira authorization is unknown, already used or expired: press Connect Jira again.", status=409
    )
    if (
        pending is None
        or pending.team_id != team_id
        or pending.browser_hash != digest(request.browser_nonce)
        or pending.expires_at < time.time()
    ):
        raise refused
    if pending.status == "failed":
        raise OnboardingRequestError(_FAILURES.get(pending.error or "", _FAILURES["failed"]), status=409)
    if pending.status != "granted" or not pending.grant_envelope:
        raise refused
    try:
        return unseal(team_id, pending.grant_envelope, region=get_settings().region), pending.sites or []
    except CredentialsUnreadableError as exc:
        raise refused from exc


_FAILURES = {
    "denied": "Jira access was not granted (the consent page was declined): press Connect Jira to try again.",
    "missing_scope": (
        "The grant lacks a permission the sync needs: press Connect Jira and accept every permission asked."
    ),
    "no_site": "The grant covers no Jira site this app can read: connect with an account that uses Jira.",
    "failed": "Atlassian did not complete the connection: press Connect Jira to try again.",
}


def connect_site(team_id: str, request: OAuthConnectRequest, *, api_base_url: str) -> OAuthConnectResponse:
    """Store the team's connection for the chosen site (the one site when the grant covers one)."""
    tokens, sites = _granted_tokens(team_id, request)
    choices = [OAuthSite(cloud_id=s["cloud_id"], url=s["url"], name=s["name"]) for s in sites]
    chosen = [s for s in sites if s["cloud_id"] == request.cloud_id] if request.cloud_id else sites
    if len(chosen) != 1:
        if request.cloud_id:
            raise OnboardingRequestError(
                "That site is not one this grant covers: choose one of the sites listed."
            )
        return OAuthConnectResponse(status="choose_site", sites=choices)
    site = chosen[0]
    if not OAuthStates().use(request.state, time.time()):
        raise OnboardingRequestError(
            "This Jira authorization was already used: press Connect Jira again.", status=409
        )
    from jira_onboarding.logic.connection.register import register_connection  # one way to store a connection

    register_connection(
        team_id,
        oauth_app.site_api_base(site["cloud_id"]),
        "oauth",
        tokens,
        site={
            "cloud_id": site["cloud_id"],
            "site_web_url": site["url"],
            "site_name": site["name"],
            "granted_scopes": tokens.get("scopes") or site["scopes"],
        },
    )
    return OAuthConnectResponse(
        status="connected", sites=choices, connection=_connected(team_id, site, api_base_url)
    )


def _connected(team_id: str, site: dict[str, Any], api_base_url: str) -> ConnectionResponse:
    from jira_onboarding.logic.jira_access.gateway import open_jira
    from jira_onboarding.logic.live.registration import enable_live_updates  # lazy: cold starts

    repo = TeamStores(team_id)
    client = open_jira(team_id, repo)
    try:
        me = client.myself()
    except JiraAuthError as exc:
        raise OnboardingRequestError("Jira refused the new grant: press Connect Jira again.") from exc
    finally:
        client.close()
    return ConnectionResponse(
        site_url=site["url"],
        auth_kind="oauth",
        jira_account=me.display_name or me.account_id,
        live_updates=enable_live_updates(team_id, base_url=api_base_url),
    )
