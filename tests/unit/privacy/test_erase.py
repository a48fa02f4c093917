"""A closed account's erasure: its personal data leaves every team that holds it (the users
table and the runs' summaries), the account id stays, and no later users sync stores it again."""

from __future__ import annotations

import uuid

from jira_onboarding.dal.privacy import PrivacyStore, teams_holding
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.users import without_erased_data
from jira_onboarding.logic.privacy.erase import erase_closed_account

from tests.unit.privacy.conftest import store_users


def _run_with_unmatched_names(team_id: str, names: list[str]) -> str:
    from jira_onboarding.dal.tables import OnboardingRunItem

    run_id = f"run-{uuid.uuid4().hex[:8]}"
    OnboardingRunItem(
        team_id, run_id, users_summary={"unmatched_jira_user_names": names, "matched": 0}
    ).save()
    return run_id


def test_erase_closed_account_erases_it_from_every_team_that_holds_it(team_id: str):
    other = f"{team_id}-other"
    prefix = f"acc-{uuid.uuid4().hex[:8]}"
    mine = store_users(team_id, 2, prefix=prefix)
    store_users(other, 1, prefix=prefix)
    run_id = _run_with_unmatched_names(team_id, ["Person 0", "Person 1", "Person 0"])
    account = mine[0].account_id
    assert teams_holding(account) == sorted([team_id, other])

    assert erase_closed_account(account) == 2

    for team in (team_id, other):
        stored = {u.account_id: u for u in TeamStores(team).people.list_jira_users()}
        assert (stored[account].display_name, stored[account].email_address, stored[account].active) == (
            "",
            None,
            False,
        )
        assert TeamStores(team).people.erased_account_ids() == {account}
    summary = TeamStores(team_id).runs.get(run_id).users_summary  # type: ignore[union-attr]
    assert summary == {"unmatched_jira_user_names": ["Person 1", "Person 0"], "matched": 0}
    assert erase_closed_account(account) == 0  # already erased: nothing more to do


def test_an_erased_account_is_never_stored_again_by_the_users_sync(team_id: str):
    users = store_users(team_id, 2, prefix=f"acc-{uuid.uuid4().hex[:8]}")
    account = users[0].account_id
    PrivacyStore(team_id).erase_account(account)
    people = TeamStores(team_id).people

    # Jira still lists it under its old name (or "Former user"): stripped, then not written
    fetched = without_erased_data(users, people.erased_account_ids())
    assert fetched[0] == JiraUser.model_validate({"accountId": account, "active": False})
    assert fetched[1] == users[1]
    assert people.save_jira_users(users) == 0
    stored = {u.account_id: u for u in people.list_jira_users()}
    assert (stored[account].display_name, stored[account].email_address) == ("", None)


def test_a_refetched_account_is_not_stored_once_erased(team_id: str):
    users = store_users(team_id, 1, prefix=f"acc-{uuid.uuid4().hex[:8]}")
    store = PrivacyStore(team_id)
    renamed = JiraUser.model_validate({"accountId": users[0].account_id, "displayName": "New"})

    assert store.save_refetched(renamed) is True
    assert store.erase_account(users[0].account_id) is True
    assert store.save_refetched(renamed) is False
    assert TeamStores(team_id).people.list_jira_users()[0].display_name == ""


def test_erase_account_of_an_account_the_team_does_not_hold(team_id: str):
    assert PrivacyStore(team_id).erase_account("nobody") is False


def test_accounts_after_pages_in_key_order_and_leaves_erased_ones_out(team_id: str):
    users = store_users(team_id, 5, prefix="acc")
    store = PrivacyStore(team_id)
    store.erase_account(users[1].account_id)

    first = store.accounts_after(None, 2)
    rest = store.accounts_after(first[-1].account_id, 2)

    assert [a.account_id for a in first] == [users[0].account_id, users[2].account_id]
    assert [a.account_id for a in rest] == [users[3].account_id, users[4].account_id]
    assert store.accounts_after(rest[-1].account_id, 2) == []
