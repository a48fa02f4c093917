"""Personal data on the local stack: the daily report fans out per team, a closed account's name
and email leave every table of every team and no later sync brings them back, an updated account
is refetched, and a 429 requeues the team instead of sleeping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.settings import get_settings

from jira_simulator import JiraSimulator, build_workspace
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM, connect_team, load_event, select_and_wait
from tests.integration.live_support import SMALL, connect_oauth_team, table_snapshot

OTHER_TEAM = "team-globex"


@dataclass
class World:
    stack: LocalStack
    simulator: JiraSimulator


@contextmanager
def privacy_world(monkeypatch: pytest.MonkeyPatch, *, teams: tuple[str, ...] = (TEAM,)) -> Iterator[World]:
    """`teams` onboarded (ALPHA) from one simulated site as OAuth apps; Atlassian's reporting
    API is the simulator's too."""
    workspace = build_workspace(seed=1, size=SMALL)
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    with simulator.serve() as jira_url, LocalStack() as stack:
        monkeypatch.setenv("ATLASSIAN_API_URL", jira_url)
        get_settings.cache_clear()
        for team in teams:
            connect_oauth_team(team, jira_url, "app-client-secret")
            connect_team(team, jira_url, workspace, register=False)
            select_and_wait(stack, ["ALPHA"], team_id=team)
        assert stack.drain(timeout_s=30)
        yield World(stack, simulator)


def run_report(world: World) -> dict:
    result, error = world.stack.invoke(
        "DispatchPersonalDataReportsFunction", load_event("dispatch_personal_data_reports")
    )
    assert error is None, result
    assert world.stack.drain(timeout_s=60, delayed=True), "the personal data queue did not drain"
    return result


def unmatched_account(world: World, team: str = TEAM) -> dict:
    """A stored Jira account with a name and an email that no member claims (so that neither
    appears in the GitHub side's own data)."""
    repo = TeamStores(team)
    claimed = {m.jira_account_id for m in repo.people.list_members()}
    member_text = json.dumps([m.model_dump() for m in repo.people.list_members()], default=str)
    for user in repo.people.list_jira_users():
        if (
            user.account_id not in claimed
            and user.email_address
            and user.display_name
            and user.display_name not in member_text
            and user.email_address not in member_text
        ):
            return world.simulator.ws.user(user.account_id) or {}
    raise AssertionError("the workspace has no unmatched account with an email")


def everything_stored() -> str:
    return json.dumps(table_snapshot(), default=str)


def test_a_closed_account_is_erased_from_every_table_of_every_team_and_stays_erased(monkeypatch):
    with privacy_world(monkeypatch, teams=(TEAM, OTHER_TEAM)) as world:
        # Given two teams holding an account, its name and email stored
        account = unmatched_account(world)
        name, email = account["displayName"], account["emailAddress"]
        assert name in everything_stored() and email in everything_stored()

        # When Atlassian closes it and the daily report runs
        world.simulator.privacy.close_account(account["accountId"])
        summary = run_report(world)

        # Then both teams reported, and the name and email are gone from every table
        assert summary["queued"] == 2
        assert account["accountId"] in world.simulator.privacy.reported_ids()
        stored = everything_stored()
        assert name not in stored and email not in stored
        for team in (TEAM, OTHER_TEAM):
            assert account["accountId"] in TeamStores(team).people.erased_account_ids()

        # And a later sync (a new selection fetches the users again) does not bring them back
        select_and_wait(world.stack, ["ALPHA", "BETA"])
        stored = everything_stored()
        assert name not in stored and email not in stored
        # (reported by one team or both: the first answer erases it everywhere, and an erased
        # account holds nothing left to report)
        assert 1 <= world.simulator.privacy.reported_ids().count(account["accountId"]) <= 2


def test_an_updated_account_is_refetched_and_stored(monkeypatch):
    with privacy_world(monkeypatch) as world:
        # Given a stored account whose profile then changes in Atlassian
        account = unmatched_account(world)
        world.simulator.privacy.update_account(
            account["accountId"], displayName="Renamed Person", emailAddress="renamed@example.test"
        )

        # When the report runs
        run_report(world)

        # Then the account's new data is stored
        users = {u.account_id: u for u in TeamStores(TEAM).people.list_jira_users()}
        assert users[account["accountId"]].display_name == "Renamed Person"
        assert users[account["accountId"]].email_address == "renamed@example.test"


def test_every_account_is_reported_in_calls_of_at_most_90_and_the_team_is_not_due_again(monkeypatch):
    with privacy_world(monkeypatch) as world:
        # When the report runs twice (the second day)
        run_report(world)
        second = run_report(world)

        # Then every stored account was reported once, and the team was not due the second day
        stored = {u.account_id for u in TeamStores(TEAM).people.list_jira_users()}
        assert sorted(world.simulator.privacy.reported_ids()) == sorted(stored)
        assert all(1 <= len(body) <= 90 for body in world.simulator.privacy.reports)
        assert second["queued"] == 0 and second["not_due"] == 1


def test_a_throttled_report_is_requeued_and_completes(monkeypatch):
    with privacy_world(monkeypatch) as world:
        # Given Atlassian answers the first report 429, and no wait is taken inside the Lambda
        monkeypatch.setenv("JIRA_MAX_INLINE_WAIT_SECONDS", "0")
        monkeypatch.setenv("JIRA_BACKOFF_BASE_SECONDS", "0")
        get_settings.cache_clear()
        world.simulator.privacy.throttle_next(1)

        # When the report runs
        run_report(world)

        # Then the team's message came back after Retry-After (SQS's delay, not a sleep) and the
        # team was reported in full
        outcomes = [i for i in world.stack.invocations if i.function == "ReportPersonalDataFunction"]
        assert len(outcomes) == 2
        stored = {u.account_id for u in TeamStores(TEAM).people.list_jira_users()}
        assert set(world.simulator.privacy.reported_ids()) == stored


def test_an_api_token_connection_is_not_reported(stack: LocalStack, jira_url: str, monkeypatch):
    # Given a team connected with an API token (not an app)
    monkeypatch.setenv("ATLASSIAN_API_URL", jira_url)
    get_settings.cache_clear()
    connect_team(TEAM, jira_url)

    # When the report runs
    result, error = stack.invoke(
        "DispatchPersonalDataReportsFunction", load_event("dispatch_personal_data_reports")
    )

    # Then nothing was queued, and the reporter skips the team if a message names it anyway
    assert error is None
    assert result["queued"] == 0 and result["not_oauth"] == 1
    answer, error = stack.invoke("ReportPersonalDataFunction", load_event("report_personal_data"))
    assert error is None and answer == {"batchItemFailures": []}


def test_a_disconnect_that_asks_for_it_deletes_the_jira_accounts_personal_data(monkeypatch):
    with privacy_world(monkeypatch) as world:
        # Given an onboarded team holding its site's accounts
        account = unmatched_account(world)
        assert account["displayName"] in everything_stored()

        # When it disconnects with erase_personal_data=true
        status, _, body = world.stack.http(
            "DELETE", "/jira/connection", team_id=TEAM, query={"erase_personal_data": "true"}
        )

        # Then no stored account's name or email is left
        assert status == 200, body
        assert body["jira_accounts_deleted"] >= 1
        stored = everything_stored()
        assert TeamStores(TEAM).people.list_jira_users() == []
        assert account["displayName"] not in stored and account["emailAddress"] not in stored
