"""Fixing a match by hand: the members view, setting a member's account (or "not in Jira"), and
clearing a match. A match set by hand is kept by every later sync (matching never touches
"manual"); clearing it hands the member back to the automatic matching.

Every read and write is keyed by the caller's team, so another team's member is simply not
found: 404, exactly like a member that does not exist.
"""

from __future__ import annotations

from jira_onboarding.choice_contracts import (
    JiraAccountView,
    MemberMatchRequest,
    MemberMatchResponse,
    MemberMatchView,
    MembersResponse,
)
from jira_onboarding.dal.people import PeopleStore
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.matching import MANUAL, is_matchable
from jira_onboarding.records import TeamMember


def _view(member: TeamMember, names: dict[str, str]) -> MemberMatchView:
    if member.match_method == MANUAL:
        status = "manual" if member.jira_account_id else "not_in_jira"
    else:
        status = "matched" if member.jira_account_id else "unmatched"
    return MemberMatchView(
        member_id=member.member_id,
        github_login=member.github_login,
        display_name=member.display_name,
        status=status,
        jira_account_id=member.jira_account_id,
        jira_display_name=names.get(member.jira_account_id or ""),
        method=member.match_method,
        confidence=member.match_confidence,
        evidence=member.match_evidence,
    )


def _names(users: list[JiraUser]) -> dict[str, str]:
    return {u.account_id: u.display_name or u.account_id for u in users}


def list_member_matches(team_id: str) -> MembersResponse:
    people = PeopleStore(team_id)
    members = sorted(people.list_members(), key=lambda m: m.member_id)
    users = people.list_jira_users()
    claimed = {m.jira_account_id for m in members if m.jira_account_id}
    names = _names(users)
    unclaimed = sorted(
        (u for u in users if is_matchable(u) and u.account_id not in claimed),
        key=lambda u: ((u.display_name or "").casefold(), u.account_id),
    )
    return MembersResponse(
        members=[_view(m, names) for m in members],
        unclaimed_jira_accounts=[
            JiraAccountView(account_id=u.account_id, display_name=names[u.account_id]) for u in unclaimed
        ],
    )


def _member(people: PeopleStore, member_id: str) -> TeamMember:
    found = people.get_member(member_id)
    if found is None:
        raise OnboardingRequestError(f"Your team has no member {member_id!r}.", status=404)
    return found


def set_member_match(team_id: str, member_id: str, request: MemberMatchRequest) -> MemberMatchResponse:
    """Set the member's account by hand, or mark them "not in Jira"."""
    people = PeopleStore(team_id)
    _member(people, member_id)
    users = people.list_jira_users()
    cleared: list[str] = []
    if request.account_id is not None:
        user = next((u for u in users if u.account_id == request.account_id), None)
        if user is None or not is_matchable(user):
            raise OnboardingRequestError(
                f"{request.account_id!r} is not an active person's account on your Jira site "
                "(see unclaimed_jira_accounts in GET /jira/members).",
                status=400,
            )
        for other in people.list_members():
            if other.member_id == member_id or other.jira_account_id != request.account_id:
                continue
            if other.match_method == MANUAL:
                raise OnboardingRequestError(
                    f"That account is set by hand for member {other.member_id!r}; clear that match first.",
                    status=409,
                )
            people.clear_match(other.member_id)  # an automatic guess a person has just corrected
            cleared.append(other.member_id)
    if not people.set_manual_match(member_id, request.account_id):
        raise OnboardingRequestError(f"Your team has no member {member_id!r}.", status=404)
    return MemberMatchResponse(
        member=_view(_member(people, member_id), _names(users)), cleared_members=cleared
    )


def clear_member_match(team_id: str, member_id: str) -> MemberMatchView:
    """Forget the member's match: the next matching (a sync, or Compute Metrics) decides afresh."""
    people = PeopleStore(team_id)
    _member(people, member_id)
    if not people.clear_match(member_id):
        raise OnboardingRequestError(f"Your team has no member {member_id!r}.", status=404)
    return _view(_member(people, member_id), _names(people.list_jira_users()))
