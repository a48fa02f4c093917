"""The scopes the app asks for are exactly what the pipeline's Jira calls need (the simulator's
table, read from the official specs: tests/simulator/test_simulator_scopes.py), plus a refresh token
and the personal data reporting API; and the authorize URL carries them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from jira_onboarding.logic.jira_access import oauth_app

from jira_simulator.scopes import NEEDED_SCOPES


def test_the_app_asks_for_the_scopes_the_pipeline_needs_and_no_more() -> None:
    assert sorted(oauth_app.SCOPES) == sorted(NEEDED_SCOPES)
    assert set(oauth_app.SCOPES) >= oauth_app.REQUIRED_SCOPES


def test_the_authorize_url_is_atlassians_with_consent_prompted(dynamodb_tables: None) -> None:
    url = oauth_app.authorize_url("client-1", "https://api.example/jira/oauth/callback", "s" * 43)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "auth.atlassian.com", "/authorize")
    assert query["scope"] == [" ".join(oauth_app.SCOPES)] and query["prompt"] == ["consent"]
