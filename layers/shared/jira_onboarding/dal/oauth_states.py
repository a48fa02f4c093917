"""OAuth authorizations in flight: one item per `state`, keyed by its SHA-256 (the state itself is
never stored), expiring by TTL.

pending --callback--> exchanging --> granted --connect--> used
                                 \\-> failed (denied, missing scope, Atlassian refused)
The callback may claim a state once (a replayed or forged callback finds nothing to claim); the
grant it stores (tokens sealed under the team's key, the sites without secrets) waits for the team's
page to choose the site, from the browser that asked (`browser_hash`).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from jira_onboarding.dal import tables
from jira_onboarding.dal.items import is_conditional_failure
from jira_onboarding.dal.tables import bind_tables
from jira_onboarding.records import Record


class OAuthStateItem(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    state_hash = UnicodeAttribute(hash_key=True)
    team_id = UnicodeAttribute()
    browser_hash = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    status = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute
    grant_envelope = UnicodeAttribute(null=True)  # the tokens, sealed under the team's key
    sites = JSONAttribute(null=True)  # [{cloud_id, url, name, scopes}]
    error = UnicodeAttribute(null=True)


tables._BINDINGS.update({OAuthStateItem: "oauth_states"})


class OAuthState(Record):
    team_id: str
    browser_hash: str
    redirect_uri: str
    status: str
    expires_at: float
    grant_envelope: str | None = None
    sites: list[dict[str, Any]] | None = None
    error: str | None = None


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _record(item: OAuthStateItem) -> OAuthState:
    return OAuthState(
        team_id=item.team_id,
        browser_hash=item.browser_hash,
        redirect_uri=item.redirect_uri,
        status=item.status,
        expires_at=float(item.expires_at),
        grant_envelope=item.grant_envelope,
        sites=item.sites,
        error=item.error,
    )


class OAuthStates:
    def __init__(self) -> None:
        bind_tables()

    def create(self, state: str, team_id: str, browser_nonce: str, redirect_uri: str, ttl_s: float) -> None:
        OAuthStateItem(
            digest(state),
            team_id=team_id,
            browser_hash=digest(browser_nonce),
            redirect_uri=redirect_uri,
            status="pending",
            expires_at=int(time.time() + ttl_s),
        ).save(condition=OAuthStateItem.state_hash.does_not_exist())

    def get(self, state: str) -> OAuthState | None:
        try:
            return _record(OAuthStateItem.get(digest(state), consistent_read=True))
        except DoesNotExist:
            return None

    def _move(self, state: str, source: str, actions: list[Any], now: float) -> bool:
        try:
            OAuthStateItem(digest(state)).update(
                actions=actions,
                condition=(OAuthStateItem.status == source) & (OAuthStateItem.expires_at > int(now)),
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def claim(self, state: str, now: float) -> OAuthState | None:
        """The callback's one claim of a pending, unexpired state (None: unknown, spent or expired)."""
        if not self._move(state, "pending", [OAuthStateItem.status.set("exchanging")], now):
            return None
        return self.get(state)

    def grant(self, state: str, envelope: str, sites: list[dict[str, Any]], now: float, ttl_s: float) -> bool:
        return self._move(
            state,
            "exchanging",
            [
                OAuthStateItem.status.set("granted"),
                OAuthStateItem.grant_envelope.set(envelope),
                OAuthStateItem.sites.set(sites),
                OAuthStateItem.expires_at.set(int(now + ttl_s)),
            ],
            now,
        )

    def fail(self, state: str, error: str, now: float) -> bool:
        return self._move(
            state, "exchanging", [OAuthStateItem.status.set("failed"), OAuthStateItem.error.set(error)], now
        )

    def use(self, state: str, now: float) -> bool:
        """The page connected a site with the grant: it cannot be used again (the tokens go)."""
        return self._move(
            state, "granted", [OAuthStateItem.status.set("used"), OAuthStateItem.grant_envelope.remove()], now
        )
