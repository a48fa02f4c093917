"""One team's report: every account in calls of at most 90, a cycle resumed from its cursor,
the answer acted on (closed erased, updated refetched), a 429 handed back, only OAuth teams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.dal.privacy import PrivacyStore, ReportState
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.privacy.report import DUE_MARGIN, REPORT_INTERVAL, is_due, report_team

from tests.unit.conftest import team_site
from tests.unit.privacy.conftest import store_users

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def always() -> float:
    return 1000.0


@pytest.mark.parametrize(
    ("reported_ago", "cycle_open", "due"),
    [
        (None, False, True),  # never reported
        (timedelta(days=1), False, False),
        (REPORT_INTERVAL - DUE_MARGIN - timedelta(minutes=1), False, False),
        (REPORT_INTERVAL - DUE_MARGIN, False, True),  # the daily run before the cycle ends
        (timedelta(days=1), True, True),  # a cycle under way resumes whatever the last report
    ],
)
def test_is_due(reported_ago: timedelta | None, cycle_open: bool, due: bool):
    state = ReportState(
        team_id="t",
        auth_kind="oauth",
        reported_at=NOW - reported_ago if reported_ago else None,
        cycle_started_at=NOW if cycle_open else None,
    )
    assert is_due(state, NOW) is due


def test_report_team_reports_every_account_in_calls_of_at_most_90(oauth_team: str, simulated_jira):
    users = store_users(oauth_team, 200)

    result = report_team(oauth_team, time_left_s=always, now=NOW)

    assert (result.outcome, result.reported) == ("reported", 200)
    assert [len(body) for body in simulated_jira.privacy.reports] == [90, 90, 20]
    assert simulated_jira.privacy.reported_ids() == [u.account_id for u in users]
    state = PrivacyStore(oauth_team).state()
    assert state is not None and state.reported_at == NOW and state.cursor is None
    assert report_team(oauth_team, time_left_s=always, now=NOW + timedelta(days=1)).outcome == "not due"


def test_report_team_resumes_after_the_last_account_reported(oauth_team: str, simulated_jira):
    store_users(oauth_team, 100)

    def time_left() -> float:  # time for one call, then the invocation is nearly over
        return 1000.0 if not simulated_jira.privacy.reports else 1.0

    first = report_team(oauth_team, time_left_s=time_left, now=NOW)
    second = report_team(oauth_team, time_left_s=always, now=NOW)

    assert (first.outcome, first.reported) == ("continued", 90)
    assert (second.outcome, second.reported) == ("reported", 10)
    reported = simulated_jira.privacy.reported_ids()
    assert len(reported) == len(set(reported)) == 100


def test_report_team_erases_closed_accounts_and_refetches_updated_ones(oauth_team: str, simulated_jira):
    users = store_users(oauth_team, 3, prefix=simulated_jira.ws.users[5]["accountId"])
    closed, updated = users[0].account_id, users[1].account_id
    simulated_jira.ws.users.append({"accountId": updated, "displayName": "New Name", "active": True})
    simulated_jira.privacy.close_account(closed)
    simulated_jira.privacy.update_account(updated)

    result = report_team(oauth_team, time_left_s=always, now=NOW)

    assert (result.erased, result.refreshed) == (1, 1)
    stored = {u.account_id: u for u in TeamStores(oauth_team).people.list_jira_users()}
    assert (stored[closed].display_name, stored[closed].email_address) == ("", None)
    assert (stored[updated].display_name, stored[updated].email_address) == ("New Name", None)
    assert stored[users[2].account_id].display_name == "Person 2"


def test_report_team_hands_a_429_back_with_its_retry_after(oauth_team: str, simulated_jira):
    store_users(oauth_team, 5)
    simulated_jira.privacy.throttle_next(120)

    result = report_team(oauth_team, time_left_s=always, now=NOW)

    assert (result.outcome, result.retry_after, result.reported) == ("throttled", 120, 0)
    state = PrivacyStore(oauth_team).state()
    assert state is not None and state.cycle_started_at == NOW and state.reported_at is None


def test_report_team_skips_an_api_token_connection(team_id: str, simulated_jira):
    register_connection(team_id, team_site(team_id), "api_token", {"email": "a@x.test", "api_token": "t"})
    store_users(team_id, 5)

    assert report_team(team_id, time_left_s=always, now=NOW).outcome == "not an OAuth connection"
    assert simulated_jira.privacy.reports == []


def test_report_team_without_a_connection_does_nothing(team_id: str):
    assert report_team(team_id, time_left_s=always, now=NOW).outcome == "not connected"


def test_report_team_with_a_refused_grant_ends_quietly_and_stays_due(
    oauth_team: str, simulated_jira, monkeypatch: pytest.MonkeyPatch
):
    from jira_onboarding.errors import JiraAuthError
    from jira_onboarding.logic.jira_access.tokens import TokenStore

    def refused(self: TokenStore, tokens: object) -> None:
        raise JiraAuthError("Atlassian refused to refresh the OAuth token (403); reconnect Jira.")

    store_users(oauth_team, 5)
    simulated_jira.bearer_tokens.clear()  # the grant was revoked: the token and its refresh are refused
    monkeypatch.setattr(TokenStore, "_exchange", refused)

    result = report_team(oauth_team, time_left_s=always, now=NOW)

    assert result.outcome == "credentials refused"
    state = PrivacyStore(oauth_team).state()
    assert state is not None and is_due(state, NOW + timedelta(days=1))


def test_report_team_keeps_an_updated_account_the_site_no_longer_shows(oauth_team: str, simulated_jira):
    users = store_users(oauth_team, 1, prefix="gone")
    simulated_jira.privacy.update_account(users[0].account_id)  # not in the site's user list: a 404

    result = report_team(oauth_team, time_left_s=always, now=NOW)

    assert (result.outcome, result.refreshed) == ("reported", 0)
    assert TeamStores(oauth_team).people.list_jira_users()[0].display_name == "Person 0"
