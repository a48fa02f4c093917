"""OAuth 2.0 (3LO) tokens for a team's Jira: envelope-encrypted in the connection item, refreshed
once at a time.

Atlassian rotates refresh tokens: each refresh returns a new one and invalidates the old, and
reusing an old one outside a short grace window can revoke them all. So two Lambdas must never both
spend the same refresh token: a conditional write on the connection item (a lease) lets exactly one
refresh, and its new tokens are written only while it still holds the lease; the others wait for
the stored tokens to change and use the new access token.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel

from jira_onboarding import aws
from jira_onboarding.credentials import open_credentials, seal
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import GrantRevokedError, JiraAuthError
from jira_onboarding.observability import logger, trace_httpx
from jira_onboarding.settings import get_settings

EXPIRY_MARGIN_S = 60.0
LEASE_TTL_S = 30.0

trace_httpx()


class OAuthTokens(BaseModel):
    """A team's grant of the app. `client_id`/`client_secret` only in a connection made before the
    one app (a customer's own app, which Atlassian no longer allows): its refreshes keep using it
    until the team reconnects through ours."""

    access_token: str
    refresh_token: str
    expires_at: float = 0.0  # epoch seconds
    client_id: str | None = None
    client_secret: str | None = None

    def fresh(self, now: float) -> bool:
        return self.expires_at - EXPIRY_MARGIN_S > now


def seal_for(team_id: str, value: dict[str, Any]) -> str:
    """`value` sealed under the stack's credentials key (settings: CREDENTIALS_KEY_ID)."""
    settings = get_settings()
    if not settings.credentials_key_id:
        raise RuntimeError("CREDENTIALS_KEY_ID is not set")
    return seal(team_id, value, key_id=settings.credentials_key_id, region=settings.region)


def read_stored_credentials(repo: TeamStores) -> dict[str, Any]:
    """The team's credentials as stored, read through (never cached): the envelope, or for a
    connection not migrated yet its Secrets Manager secret."""
    envelope, secret_name = repo.connection.read_credentials()
    value = open_credentials(repo.team_id, envelope, secret_name, cached=False)
    if value is None:
        raise JiraAuthError("The stored Jira credentials are unreadable; reconnect Jira.")
    return value


def delete_legacy_secret(secret_name: str) -> None:
    """Delete a Secrets Manager secret whose credentials now live in the connection item. Seven
    days' recovery window: a rollback in that time can still restore it."""
    client = aws.client("secretsmanager", get_settings().region)
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_secret(SecretId=secret_name, RecoveryWindowInDays=7)
    aws.forget_secret(secret_name)


class TokenStore:
    """Reads and rotates one team's OAuth tokens."""

    def __init__(
        self,
        repo: TeamStores,
        *,
        token_url: str | None = None,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait_s: float = 20.0,
    ) -> None:
        self.repo = repo
        self.token_url = token_url or f"{get_settings().atlassian_auth_url}/oauth/token"
        self._http = http
        self.clock = clock
        self.sleep = sleep
        self.wait_s = wait_s

    @property
    def http(self) -> httpx.Client:
        """The token endpoint's client, made on first use: building one loads the CA bundle (tens
        of milliseconds), and most uses of the store (every OAuth `open_jira`) never refresh."""
        if self._http is None:
            self._http = httpx.Client(timeout=15.0)
        return self._http

    def current(self) -> OAuthTokens:
        # Read through, never cached: another Lambda may have rotated the tokens a moment ago.
        return OAuthTokens.model_validate(read_stored_credentials(self.repo))

    def access_token(self) -> str:
        tokens = self.current()
        if tokens.fresh(self.clock()):
            return tokens.access_token
        return self.refresh(spent=tokens.refresh_token)

    def refresh(self, *, spent: str | None = None) -> str:
        """A new access token. `spent` is the refresh token the caller saw: if the stored one
        differs, somebody already refreshed and the caller just uses the result."""
        owner = uuid.uuid4().hex
        deadline = self.clock() + self.wait_s
        while True:
            tokens = self.current()
            if spent is not None and tokens.refresh_token != spent:
                return tokens.access_token
            if self.repo.connection.acquire_refresh_lease(owner, self.clock(), LEASE_TTL_S):
                rotated = False
                try:
                    tokens = self.current()  # re-read under the lease
                    if spent is not None and tokens.refresh_token != spent:
                        return tokens.access_token
                    reason = self.repo.connection.reconnect_reason()
                    if reason:  # the lease's previous holder was refused for good: not twice
                        raise GrantRevokedError(reason)
                    new = self._exchange(tokens)
                    envelope = seal_for(self.repo.team_id, new.model_dump())
                    if not self.repo.connection.replace_credentials(envelope, lease_owner=owner):
                        raise JiraAuthError(
                            "The Jira OAuth refresh took too long and was not saved; reconnect Jira."
                        )
                    rotated = True
                    logger.info("Jira OAuth tokens rotated")
                    return new.access_token
                finally:
                    self.repo.connection.release_refresh_lease(owner, rotated=rotated)
            if self.clock() > deadline:
                raise JiraAuthError("Timed out waiting for another sync to refresh the Jira OAuth token.")
            self.sleep(0.2)

    def _exchange(self, tokens: OAuthTokens) -> OAuthTokens:
        from jira_onboarding.logic.jira_access import oauth_app

        if tokens.client_id and tokens.client_secret:
            app = oauth_app.AppCredentials(tokens.client_id, tokens.client_secret)
        else:
            app = oauth_app.app_credentials()
        try:
            grant = oauth_app.refresh_grant(self.http, app, tokens.refresh_token, token_url=self.token_url)
        except oauth_app.GrantRevokedError as exc:
            # The grant is gone: say so on the connection (syncs and live updates stop asking)
            # instead of letting every caller spend another refresh on it.
            self.repo.connection.mark_reconnect_needed(str(exc))
            raise
        return OAuthTokens(
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=self.clock() + grant.expires_in,
            client_id=tokens.client_id,
            client_secret=tokens.client_secret,
        )


def tokens_secret(tokens: dict[str, Any]) -> str:
    return json.dumps(OAuthTokens.model_validate(tokens).model_dump())
