"""Property: over random workspaces, matching never makes a wrong automatic match when a member's
pull-request evidence is ambiguous (split between accounts) or thin (a few PRs), and strong
evidence for the member's real account never leads anywhere else.

A random workspace: Jira accounts (display names drawn from a small pool, so names collide;
emails often hidden), team members who really are one of them or are not in Jira at all, named as
their account (maybe a shared name) or differently, and a PR history per member that is thin,
split between their account and another, or strong for their account (only members who are in
Jira get strong evidence: evidence pointing at someone else's account is not "thin or ambiguous").
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.evidence import MIN_LINKED_PRS, WorkItem, score_evidence
from jira_onboarding.logic.people.matching import match_members
from jira_onboarding.records import TeamMember

NAMES = ["Alex Kim", "Sam Lee", "Jo Park", "Ana Ruiz"]
# Random workspaces per run: 100 in the unit suite (~0.5 s; a failing one is saved in .hypothesis/
# and replayed first next time). PROPERTY_EXAMPLES=3000 searches deeper, e.g. before a release.
PROPERTY_EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "100"))


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[list[TeamMember], list[JiraUser], list[WorkItem], dict, dict]:
    n_accounts = draw(st.integers(2, 8))
    accounts = [f"acc{i}" for i in range(n_accounts)]
    users = []
    for i, account_id in enumerate(accounts):
        hidden = draw(st.booleans())
        payload = {"accountId": account_id, "displayName": draw(st.sampled_from(NAMES)), "active": True}
        if not hidden:
            payload["emailAddress"] = f"user{i}@acme.io"
        users.append(JiraUser.model_validate(payload))
    n_members = draw(st.integers(1, 8))
    real = draw(st.permutations(accounts))
    members, truth, profiles, items = [], {}, {}, []
    for m in range(n_members):
        member_id, login = f"m{m}", f"dev{m}"
        account_id = real[m] if m < len(real) and draw(st.booleans()) else None
        user = next((u for u in users if u.account_id == account_id), None)
        # Their account's name (which other accounts may share) or a name Jira does not know.
        name = user.display_name if user is not None and draw(st.booleans()) else f"Nick {m}"
        emails = [u.email_address for u in [user] if u and u.email_address and draw(st.booleans())]
        members.append(
            TeamMember(team_id="t", member_id=member_id, github_login=login, display_name=name, emails=emails)
        )
        truth[member_id] = account_id
        profile = draw(st.sampled_from(["thin", "split", "strong"] if account_id else ["thin", "split"]))
        profiles[member_id] = profile
        items += _history(draw, login, account_id, accounts, profile)
    return members, users, items, truth, profiles


def _history(
    draw: st.DrawFn, login: str, account_id: str | None, accounts: list[str], profile: str
) -> list[WorkItem]:
    others = [a for a in accounts if a != account_id]
    if profile == "thin":
        # Fewer votes than the minimum for any single account, wherever they go.
        votes = draw(st.lists(st.sampled_from(accounts), max_size=MIN_LINKED_PRS - 1))
        votes = [a for a in votes if votes.count(a) < MIN_LINKED_PRS]
    elif profile == "split":
        first = account_id or draw(st.sampled_from(accounts))
        second = draw(st.sampled_from([a for a in accounts if a != first]))
        n = draw(st.integers(1, 12))
        votes = [first] * n + [second] * draw(st.integers(n, n + 2))  # the second as strong or stronger
    else:
        assert account_id is not None
        n = draw(st.integers(9, 20))
        votes = (
            [account_id] * n + draw(st.lists(st.sampled_from(others), max_size=1))
            if others
            else [account_id] * n
        )
    return [WorkItem(login, f"{login}#{i}", f"K-{i}", a) for i, a in enumerate(votes)]


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(workspaces())
def test_match_members_is_never_wrong_when_evidence_is_thin_or_split(case) -> None:
    members, users, items, truth, profiles = case

    report = match_members(members, users, score_evidence(items))

    for match in report.matches:
        if match.outcome == "matched":
            assert match.account_id == truth[match.member_id], (match, profiles[match.member_id])
        if profiles[match.member_id] in {"thin", "split"}:
            assert match.method != "pr_evidence"
