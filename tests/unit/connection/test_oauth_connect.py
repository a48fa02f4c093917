"""Connecting through the one OAuth 2.0 (3LO) app (logic/connection/oauth.py), on moto: the state is
single-use, short-lived and bound to the team and the browser; a denied, forged, replayed, expired or
under-scoped authorization stores nothing; a grant that covers several sites lets the person choose;
a refresh Atlassian refuses for good puts the connection in "reconnect needed" after one attempt.
Atlassian's authorization server is answered in-process (FakeAtlassian); Jira is the simulator."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from jira_onboarding.contracts import ConnectionRequest
from jira_onboarding.credentials import unseal
from jira_onboarding.dal.oauth_states import OAuthStates
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import GrantRevokedError, OnboardingRequestError
from jira_onboarding.logic.connection import oauth
from jira_onboarding.logic.connection.register import connect_jira
from jira_onboarding.logic.connection.status import connection_status
from jira_onboarding.logic.jira_access import oauth_app
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.oauth_contracts import OAuthConnectRequest
from jira_onboarding.settings import get_settings

from jira_simulator import JiraSimulator
from tests.unit.connection.oauth_support import (
    API,
    ATLASSIAN,
    CLIENT_ID,
    CLIENT_SECRET,
    SITE_A,
    SITE_B,
    FakeAtlassian,
    _atlassian,
)


def _start(team_id: str, nonce: str = "n" * 32) -> tuple[str, dict[str, list[str]]]:
    answer = oauth.start_authorization(team_id, nonce, API)
    query = parse_qs(urlsplit(answer.authorize_url).query)
    assert query["state"] == [answer.state]
    return answer.state, query


def _connect(team_id: str, atlassian: FakeAtlassian) -> None:
    """The whole flow for one site: authorize, Atlassian's redirect, connect."""
    state, _ = _start(team_id)
    assert _outcome(oauth.finish_callback({"state": state, "code": atlassian.code()})) == "granted"
    oauth.connect_site(team_id, OAuthConnectRequest(state=state, browser_nonce="n" * 32), api_base_url=API)


def _outcome(location: str) -> str:
    assert location.startswith("https://app.example.test/?"), location
    return parse_qs(urlsplit(location).query)["jira_oauth"][0]


def test_the_authorize_url_asks_atlassian_for_our_app_and_the_scopes_the_sync_needs(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    _, query = _start(team_id)
    assert query["audience"] == ["api.atlassian.com"] and query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"] and query["prompt"] == ["consent"]
    assert query["redirect_uri"] == [f"{API}/jira/oauth/callback"]
    assert set(query["scope"][0].split()) == set(oauth_app.SCOPES) >= oauth_app.REQUIRED_SCOPES


def test_a_consented_grant_for_one_site_connects_it_with_the_tokens_sealed(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    state, _ = _start(team_id)
    assert _outcome(oauth.finish_callback({"state": state, "code": atlassian.code()})) == "granted"
    answer = oauth.connect_site(
        team_id, OAuthConnectRequest(state=state, browser_nonce="n" * 32), api_base_url=API
    )

    assert answer.status == "connected" and answer.connection is not None
    assert answer.connection.site_url == SITE_A["url"] and answer.connection.auth_kind == "oauth"
    connection = TeamStores(team_id).connection.get()
    assert connection is not None and connection.cloud_id == SITE_A["id"]
    assert connection.site_url == f"{ATLASSIAN}/ex/jira/{SITE_A['id']}"
    sealed = unseal(team_id, connection.credentials_envelope or "", region="us-east-1")
    assert set(sealed) >= {"access_token", "refresh_token"} and not sealed.get("client_secret")
    assert CLIENT_SECRET not in connection.model_dump_json() + answer.model_dump_json()
    status = connection_status(team_id)
    assert (status.state, status.site_url, status.site_name) == ("connected", SITE_A["url"], "acme")
    with pytest.raises(OnboardingRequestError) as again:  # the grant was used: not twice
        oauth.connect_site(
            team_id, OAuthConnectRequest(state=state, browser_nonce="n" * 32), api_base_url=API
        )
    assert again.value.status == 409


@pytest.mark.parametrize("case", ["forged", "replayed", "expired"])
def test_a_forged_replayed_or_expired_state_stores_nothing(
    case: str, team_id: str, atlassian: FakeAtlassian, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = _start(team_id)
    if case == "forged":
        state = secrets.token_urlsafe(32)
    elif case == "replayed":
        assert _outcome(oauth.finish_callback({"state": state, "code": atlassian.code()})) == "granted"
        OAuthStates().use(state, 0)  # (as if connected)
    else:
        real = oauth.time.time
        monkeypatch.setattr(oauth.time, "time", lambda: real() + oauth.STATE_TTL_S + 1)
    calls = len(atlassian.token_calls)
    assert _outcome(oauth.finish_callback({"state": state, "code": atlassian.code()})) == "expired"
    assert len(atlassian.token_calls) == calls, "no code was exchanged"
    assert TeamStores(team_id).connection.get() is None


@pytest.mark.parametrize("case", ["denied", "missing_scope"])
def test_a_denied_or_under_scoped_grant_ends_with_a_sentence_and_nothing_stored(
    case: str, team_id: str, app_secret: None, simulated_jira: JiraSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    scopes = tuple(s for s in oauth_app.SCOPES if s != "read:jira-work")
    fake = _atlassian(simulated_jira, monkeypatch, [SITE_A], scopes)
    state, _ = _start(team_id)
    params = (
        {"state": state, "error": "access_denied"}
        if case == "denied"
        else {"state": state, "code": fake.code()}
    )
    assert _outcome(oauth.finish_callback(params)) == case
    with pytest.raises(OnboardingRequestError) as refused:
        oauth.connect_site(
            team_id, OAuthConnectRequest(state=state, browser_nonce="n" * 32), api_base_url=API
        )
    assert "Connect Jira" in refused.value.message
    assert TeamStores(team_id).connection.get() is None


def test_the_grant_is_bound_to_the_team_and_the_browser_that_asked(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    state, _ = _start(team_id)
    oauth.finish_callback({"state": state, "code": atlassian.code()})
    for team, nonce in ((f"{team_id}-other", "n" * 32), (team_id, "m" * 32)):
        with pytest.raises(OnboardingRequestError) as refused:
            oauth.connect_site(team, OAuthConnectRequest(state=state, browser_nonce=nonce), api_base_url=API)
        assert refused.value.status == 409
    assert TeamStores(team_id).connection.get() is None
    assert (
        oauth.connect_site(
            team_id, OAuthConnectRequest(state=state, browser_nonce="n" * 32), api_base_url=API
        ).status
        == "connected"
    )


def test_a_grant_for_several_sites_lets_the_person_choose(
    team_id: str, app_secret: None, simulated_jira: JiraSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _atlassian(simulated_jira, monkeypatch, [SITE_A, SITE_B], oauth_app.SCOPES)
    state, _ = _start(team_id)
    oauth.finish_callback({"state": state, "code": fake.code()})
    ask = OAuthConnectRequest(state=state, browser_nonce="n" * 32)
    choice = oauth.connect_site(team_id, ask, api_base_url=API)
    assert choice.status == "choose_site" and [s.name for s in choice.sites] == ["acme", "beta"]
    assert TeamStores(team_id).connection.get() is None
    with pytest.raises(OnboardingRequestError):
        oauth.connect_site(
            team_id,
            ask.model_copy(update={"cloud_id": "00000000-0000-4000-8000-000000000000"}),
            api_base_url=API,
        )
    done = oauth.connect_site(team_id, ask.model_copy(update={"cloud_id": SITE_B["id"]}), api_base_url=API)
    assert done.status == "connected" and done.connection and done.connection.site_url == SITE_B["url"]


def test_a_revoked_grant_needs_a_reconnect_after_one_refresh_and_no_more_calls(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    _connect(team_id, atlassian)
    atlassian.revoked = True
    repo = TeamStores(team_id)
    from jira_onboarding.logic.jira_access.gateway import token_store

    tokens = token_store(repo)
    with pytest.raises(GrantRevokedError):
        tokens.refresh(spent=tokens.current().refresh_token)
    assert atlassian.token_calls.count("refresh_token") == 1
    status = connection_status(team_id)
    assert status.state == "reconnect_needed" and status.reason and "reconnect" in status.reason.lower()
    jira_calls = len(atlassian.simulator.request_log)
    for _ in range(3):  # every later open refuses at once: no refresh storm, no Jira call
        with pytest.raises(GrantRevokedError):
            open_jira(team_id, repo)
    assert atlassian.token_calls.count("refresh_token") == 1
    assert len(atlassian.simulator.request_log) == jira_calls
    # reconnecting replaces the connection: the reason goes, the stored data stays
    _connect(team_id, atlassian)
    assert connection_status(team_id).state == "connected"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {
                "auth_kind": "oauth",
                "cloud_id": SITE_A["id"],
                "client_id": "theirs",
                "client_secret": "theirs",
            },
            "client_secret",
        ),
        ({"auth_kind": "oauth"}, "Connect Jira"),
        (
            {"auth_kind": "api_token", "site_url": SITE_A["url"], "email": "a@b.c", "api_token": "t"},
            "does not accept API tokens",
        ),
        (
            {"auth_kind": "bearer", "site_url": SITE_A["url"], "access_token": "t"},
            "does not accept API tokens",
        ),
    ],
)
def test_the_default_deployment_refuses_collected_credentials_with_a_sentence(
    body: dict[str, str], words: str, team_id: str, app_secret: None
) -> None:
    with pytest.raises(OnboardingRequestError) as refused:
        connect_jira(team_id, ConnectionRequest.model_validate(body))
    assert refused.value.status == 400 and words in refused.value.message
    assert TeamStores(team_id).connection.get() is None


def test_a_team_that_must_reconnect_starts_no_sync_and_its_night_is_skipped(
    team_id: str, atlassian: FakeAtlassian
) -> None:
    from datetime import UTC, datetime

    from jira_onboarding.logic.nightly.retry import start_team_night
    from jira_onboarding.logic.run.start import launch_run

    _connect(team_id, atlassian)
    TeamStores(team_id).connection.mark_reconnect_needed("Atlassian refused the grant (invalid_grant).")

    with pytest.raises(OnboardingRequestError) as refused:
        launch_run(team_id, ["ALPHA"], trigger="selection", untrack_others=True, require_connection=True)
    assert refused.value.status == 409 and "Reconnect Jira" in refused.value.message
    assert TeamStores(team_id).projects.list_tracked() == [], "nothing recorded"
    night = start_team_night(team_id, datetime(2026, 12, 8, 2, tzinfo=UTC))
    assert night.skipped_reconnect and night.teams == 0 and not night.runs


def test_a_deployment_without_its_oauth_app_says_so_instead_of_failing(
    team_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTH_APP_SECRET_NAME", "")
    get_settings.cache_clear()
    with pytest.raises(OnboardingRequestError) as refused:
        oauth.start_authorization(team_id, "n" * 32, API)
    assert refused.value.status == 503 and "administrator" in refused.value.message
    get_settings.cache_clear()
