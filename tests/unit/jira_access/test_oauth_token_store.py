"""The OAuth token store on moto (KMS and the connections table) with a token endpoint
answered in-process: fresh tokens are used as they are, expired ones rotated once under the lease."""

from __future__ import annotations

import json

import httpx
import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraAuthError, NotConnectedError, OnboardingRequestError
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.jira_access.gateway import load_credentials
from jira_onboarding.logic.jira_access.tokens import TokenStore, tokens_secret

NOW = 1_800_000_000.0
TOKENS = {
    "client_id": "cid",
    "client_secret": "csecret",
    "access_token": "access-1",
    "refresh_token": "refresh-1",
}


class TokenEndpoint:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.grants: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.grants.append(json.loads(request.content))
        n = len(self.grants) + 1
        body = {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}
        return httpx.Response(self.status, json=body if self.status == 200 else {"error": "invalid_grant"})


def _store(team_id: str, endpoint: TokenEndpoint, *, expires_at: float) -> TokenStore:
    register_connection(
        team_id,
        "https://api.atlassian.com/ex/jira/0b6a2a53-4f7e-4c3a-9d34-6f0c1a2b3c4d",
        "oauth",
        {**TOKENS, "expires_at": expires_at},
    )
    return TokenStore(
        TeamStores(team_id),
        token_url="https://auth.example/oauth/token",
        http=httpx.Client(transport=httpx.MockTransport(endpoint)),
        clock=lambda: NOW,
        sleep=lambda _s: None,
        wait_s=0.0,
    )


def test_token_store_uses_a_fresh_access_token_without_a_refresh(team_id: str) -> None:
    endpoint = TokenEndpoint()
    store = _store(team_id, endpoint, expires_at=NOW + 3600)

    assert store.access_token() == "access-1" and endpoint.grants == []


def test_token_store_rotates_an_expired_token_once_and_stores_the_new_pair(team_id: str) -> None:
    endpoint = TokenEndpoint()
    store = _store(team_id, endpoint, expires_at=NOW + 30)  # inside the expiry margin

    assert store.access_token() == "access-2"
    assert [g["refresh_token"] for g in endpoint.grants] == ["refresh-1"]
    assert (store.current().refresh_token, store.current().expires_at) == ("refresh-2", NOW + 3600)
    # A caller that saw the spent token uses the rotated one: no second exchange
    assert store.refresh(spent="refresh-1") == "access-2" and len(endpoint.grants) == 1


def test_token_store_waits_no_longer_than_its_bound_for_another_holder_of_the_lease(team_id: str) -> None:
    store = _store(team_id, TokenEndpoint(), expires_at=0.0)
    assert TeamStores(team_id).connection.acquire_refresh_lease("another-lambda", NOW, 30.0)
    ticks = iter(NOW + 0.2 * n for n in range(1000))  # each wait moves the clock on
    store.clock = lambda: next(ticks)

    with pytest.raises(JiraAuthError, match="Timed out waiting"):
        store.refresh(spent="refresh-1")


def test_token_store_refused_refresh_asks_to_reconnect(team_id: str) -> None:
    store = _store(team_id, TokenEndpoint(status=400), expires_at=0.0)

    with pytest.raises(JiraAuthError, match="reconnect Jira"):
        store.access_token()
    # The lease is released: the next attempt may refresh
    assert TeamStores(team_id).connection.acquire_refresh_lease("next", NOW, 30.0)


def test_tokens_secret_keeps_only_the_token_fields() -> None:
    assert json.loads(tokens_secret({**TOKENS, "extra": "x"})) == {**TOKENS, "expires_at": 0.0}


@pytest.mark.parametrize(
    ("auth_kind", "credentials", "expected"),
    [
        ("api_token", {"email": "a@b.c", "api_token": "t"}, ("api_token", "a@b.c", "t", None)),
        ("bearer", {"access_token": "b"}, ("bearer", None, None, "b")),
    ],
)
def test_load_credentials_reads_the_envelope_of_the_connection(
    team_id: str, auth_kind: str, credentials: dict[str, str], expected: tuple
) -> None:
    register_connection(team_id, "https://acme.atlassian.net", auth_kind, credentials)

    loaded, store = load_credentials(team_id, TeamStores(team_id))

    assert (
        loaded.auth_kind,
        loaded.email,
        loaded.api_token,
        loaded.access_token,
    ) == expected and store is None


def test_load_credentials_of_an_oauth_connection_comes_with_its_token_store(team_id: str) -> None:
    register_connection(
        team_id,
        "https://api.atlassian.com/ex/jira/0b6a2a53-4f7e-4c3a-9d34-6f0c1a2b3c4d",
        "oauth",
        {**TOKENS, "expires_at": 4e9},
    )

    loaded, store = load_credentials(team_id, TeamStores(team_id))

    assert (loaded.auth_kind, loaded.access_token) == ("oauth", "access-1") and store is not None


def test_load_credentials_without_a_connection_or_with_an_unreadable_envelope_says_so(team_id: str) -> None:
    with pytest.raises(NotConnectedError):
        load_credentials(team_id, TeamStores(team_id))

    register_connection(team_id, "https://acme.atlassian.net", "bearer", {"access_token": "b"})
    TeamStores(team_id).connection.save("https://acme.atlassian.net", "bearer", credentials_envelope="[]")
    with pytest.raises(OnboardingRequestError, match="unreadable"):
        load_credentials(team_id, TeamStores(team_id))
