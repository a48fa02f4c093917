"""Fixing a match by hand (logic/people/member_matches.py) on moto tables built from template.yaml: what
the members view answers, what a person's match stores, and the 4xx sentence a bad request gets.
The routes and a resync keeping what a person set are the integration suite's
(test_member_matches_api.py)."""

from __future__ import annotations

import pytest
from jira_onboarding.choice_contracts import MemberMatchRequest
from jira_onboarding.dal.people import PeopleStore
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.member_matches import (
    clear_member_match,
    list_member_matches,
    set_member_match,
)
from jira_onboarding.records import TeamMember


def _user(account_id: str, name: str, **extra: object) -> JiraUser:
    return JiraUser.model_validate({"accountId": account_id, "displayName": name, **extra})


@pytest.fixture
def team(team_id: str) -> str:
    """Given a team of four members (one matched by email, one set by hand, one "not in Jira", one
    unmatched) and a site of people, an app and an inactive account."""
    people = PeopleStore(team_id)
    people.save_jira_users(
        [
            _user("acc-maria", "Maria Lopez"),
            _user("acc-alex", "Alex Kim"),
            _user("acc-bo", "bo"),
            _user("acc-zed", ""),  # no display name: the account id stands in
            _user("acc-app", "Slack", accountType="app"),
            _user("acc-gone", "Ben Carter", active=False),
        ]
    )
    members = [
        TeamMember(team_id=team_id, member_id="m01", jira_account_id="acc-maria", match_method="email"),
        TeamMember(team_id=team_id, member_id="m02", jira_account_id="acc-bo", match_method="manual"),
        TeamMember(team_id=team_id, member_id="m03", match_method="manual"),
        TeamMember(team_id=team_id, member_id="m04", github_login="alexk"),
    ]
    for member in members:
        people.save_member(member)
    return team_id


def test_list_member_matches_says_each_members_status_and_offers_only_unclaimed_people(team: str) -> None:
    answer = list_member_matches(team)

    statuses = {m.member_id: (m.status, m.jira_account_id, m.jira_display_name) for m in answer.members}
    assert statuses == {
        "m01": ("matched", "acc-maria", "Maria Lopez"),
        "m02": ("manual", "acc-bo", "bo"),
        "m03": ("not_in_jira", None, None),
        "m04": ("unmatched", None, None),
    }
    assert [m.member_id for m in answer.members] == ["m01", "m02", "m03", "m04"]
    # Claimed accounts, apps and inactive accounts are never offered; sorted by name, id for none
    assert [(a.account_id, a.display_name) for a in answer.unclaimed_jira_accounts] == [
        ("acc-zed", "acc-zed"),
        ("acc-alex", "Alex Kim"),
    ]


def test_list_member_matches_of_a_team_with_nothing_stored_is_empty(team_id: str) -> None:
    answer = list_member_matches(team_id)

    assert answer.members == [] and answer.unclaimed_jira_accounts == []


def test_set_member_match_stores_the_account_as_manual(team: str) -> None:
    answer = set_member_match(team, "m04", MemberMatchRequest(account_id="acc-alex"))

    assert (answer.member.status, answer.member.jira_display_name) == ("manual", "Alex Kim")
    assert answer.cleared_members == []
    stored = PeopleStore(team).get_member("m04")
    assert stored is not None and (stored.jira_account_id, stored.match_method) == ("acc-alex", "manual")
    assert stored.match_confidence == 1.0


def test_set_member_match_not_in_jira_stores_no_account(team: str) -> None:
    answer = set_member_match(team, "m01", MemberMatchRequest(not_in_jira=True))

    assert (answer.member.status, answer.member.jira_account_id) == ("not_in_jira", None)
    stored = PeopleStore(team).get_member("m01")
    assert stored is not None and stored.jira_account_id is None and stored.match_method == "manual"


def test_set_member_match_clears_the_automatic_match_that_held_the_account(team: str) -> None:
    answer = set_member_match(team, "m04", MemberMatchRequest(account_id="acc-maria"))

    assert answer.cleared_members == ["m01"] and answer.member.jira_account_id == "acc-maria"
    maria = PeopleStore(team).get_member("m01")
    assert maria is not None and maria.jira_account_id is None and maria.match_method is None
    assert "acc-maria" not in {a.account_id for a in list_member_matches(team).unclaimed_jira_accounts}


def test_set_member_match_refuses_an_account_set_by_hand_for_another_member_when_not_cleared(
    team: str,
) -> None:
    with pytest.raises(OnboardingRequestError) as refused:
        set_member_match(team, "m04", MemberMatchRequest(account_id="acc-bo"))

    assert refused.value.status == 409
    assert refused.value.message == "That account is set by hand for member 'm02'; clear that match first."
    untouched = PeopleStore(team).get_member("m04")
    assert untouched is not None and untouched.jira_account_id is None and untouched.match_method is None


@pytest.mark.parametrize(
    "account_id", ["acc-nobody", "acc-app", "acc-gone"], ids=["unknown", "an_app", "inactive"]
)
def test_set_member_match_refuses_an_account_that_is_not_an_active_person(team: str, account_id: str) -> None:
    with pytest.raises(OnboardingRequestError) as refused:
        set_member_match(team, "m04", MemberMatchRequest(account_id=account_id))

    assert refused.value.status == 400
    assert refused.value.message.startswith(f"{account_id!r} is not an active person's account")
    assert "GET /jira/members" in refused.value.message
    assert PeopleStore(team).get_member("m04").match_method is None  # type: ignore[union-attr]


def test_set_and_clear_member_match_answer_404_for_another_teams_member(team: str, team_id: str) -> None:
    other = f"{team_id}-other"  # a second team, with no members of its own

    for call in (
        lambda: set_member_match(other, "m04", MemberMatchRequest(not_in_jira=True)),
        lambda: clear_member_match(other, "m04"),
        lambda: set_member_match(team, "nobody", MemberMatchRequest(not_in_jira=True)),
        lambda: clear_member_match(team, "nobody"),
    ):
        with pytest.raises(OnboardingRequestError) as missing:
            call()
        assert missing.value.status == 404 and "Your team has no member" in missing.value.message
    assert PeopleStore(team).get_member("m04").match_method is None  # type: ignore[union-attr]


def test_clear_member_match_hands_a_manual_member_back_to_automatic_matching(team: str) -> None:
    view = clear_member_match(team, "m02")

    assert (view.status, view.jira_account_id, view.method) == ("unmatched", None, None)
    assert "acc-bo" in {a.account_id for a in list_member_matches(team).unclaimed_jira_accounts}


def test_set_member_match_answers_404_when_the_member_goes_meanwhile(
    team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the member is deleted between the read and the write (the write never creates one)
    monkeypatch.setattr(PeopleStore, "set_manual_match", lambda self, member_id, account_id: False)
    monkeypatch.setattr(PeopleStore, "clear_match", lambda self, member_id: False)

    with pytest.raises(OnboardingRequestError) as set_refused:
        set_member_match(team, "m04", MemberMatchRequest(not_in_jira=True))
    with pytest.raises(OnboardingRequestError) as clear_refused:
        clear_member_match(team, "m04")

    assert set_refused.value.status == clear_refused.value.status == 404
