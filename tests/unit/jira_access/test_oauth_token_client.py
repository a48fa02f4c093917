"""The OAuth token store opens its HTTP client for the token endpoint only when it refreshes:
every OAuth `open_jira` makes a store, and an httpx client loads the CA bundle when it is built
(tens of milliseconds on each of the consumer's batches, for nothing, before this was lazy)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.jira_access import tokens as oauth_tokens
from jira_onboarding.logic.jira_access.tokens import TokenStore

TOKENS = {
    "client_id": "app-client-id",
    "client_secret": "app-client-secret",
    "access_token": "access-1",
    "refresh_token": "refresh-1",
}


class CountingClient(httpx.Client):
    built = 0

    def __init__(self, **kwargs: Any) -> None:
        type(self).built += 1
        grant = {"access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 3600}
        super().__init__(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=grant)))


def test_token_store_builds_its_http_client_only_to_refresh(
    team_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oauth_tokens.httpx, "Client", CountingClient)
    CountingClient.built = 0
    register_connection(
        team_id, "https://acme.atlassian.net", "oauth", {**TOKENS, "expires_at": 4_102_444_800.0}
    )
    store = TokenStore(TeamStores(team_id), token_url="https://auth.example/oauth/token", wait_s=0.0)

    assert store.access_token() == "access-1"
    assert CountingClient.built == 0, "no refresh: no client"

    assert store.refresh(spent="refresh-1") == "access-2"
    assert CountingClient.built == 1
