"""OAuth 2.0 (3LO) tokens for a team's Jira: kept in Secrets Manager, refreshed once at a time.

Atlassian rotates refresh tokens: each refresh returns a new one and invalidates the old, and
reusing an old one outside a short grace window can revoke them all. So two Lambdas must never both
spend the same refresh token: a conditional write on the connection item (a lease) lets exactly one
refresh; the others wait for the stored secret to change and use the new access token.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraAuthError
from jira_onboarding.observability import logger, trace_httpx

ATLASSIAN_TOKEN_URL = "https://auth.atlassian.com/oauth/token"  # noqa: S105 - a URL, not a secret
EXPIRY_MARGIN_S = 60.0
LEASE_TTL_S = 30.0

trace_httpx()


class OAuthTokens(BaseModel):
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str
    expires_at: float = 0.0  # epoch seconds

    def fresh(self, now: float) -> bool:
        return self.expires_at - EXPIRY_MARGIN_S > now


class TokenStore:
    """Reads and rotates one team's OAuth tokens."""

    def __init__(
        self,
        repo: TeamStores,
        secret_name: str,
        *,
        secrets_client: Any,
        token_url: str = ATLASSIAN_TOKEN_URL,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait_s: float = 20.0,
    ) -> None:
        self.repo = repo
        self.secret_name = secret_name
        self.secrets = secrets_client
        self.token_url = token_url
        self.http = http or httpx.Client(timeout=15.0)
        self.clock = clock
        self.sleep = sleep
        self.wait_s = wait_s

    def current(self) -> OAuthTokens:
        # Read through, never cached: another Lambda may have rotated the tokens a moment ago.
        value = self.secrets.get_secret_value(SecretId=self.secret_name)["SecretString"]
        return OAuthTokens.model_validate_json(value)

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
                    new = self._exchange(tokens)
                    self.secrets.put_secret_value(
                        SecretId=self.secret_name, SecretString=new.model_dump_json()
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
        response = self.http.post(
            self.token_url,
            json={
                "grant_type": "refresh_token",
                "client_id": tokens.client_id,
                "client_secret": tokens.client_secret,
                "refresh_token": tokens.refresh_token,
            },
        )
        if response.status_code != 200:
            raise JiraAuthError(
                f"Atlassian refused to refresh the OAuth token ({response.status_code}); reconnect Jira."
            )
        body = response.json()
        return OAuthTokens(
            client_id=tokens.client_id,
            client_secret=tokens.client_secret,
            access_token=body["access_token"],
            # Atlassian always rotates; keep the old one only if a server does not.
            refresh_token=body.get("refresh_token", tokens.refresh_token),
            expires_at=self.clock() + float(body.get("expires_in", 3600)),
        )


def tokens_secret(tokens: dict[str, Any]) -> str:
    return json.dumps(OAuthTokens.model_validate(tokens).model_dump())
