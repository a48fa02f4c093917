"""Matching by the work as evidence: the scoring as tables, the combination with the identity
signals as tables, and the simulator's demo workspace against its truth."""

from __future__ import annotations

from collections import Counter

import pytest
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.evidence import (
    MIN_LINKED_PRS,
    IssuePeople,
    WorkItem,
    score_author,
    score_evidence,
    wilson_lower_bound,
    work_items,
)
from jira_onboarding.logic.people.matching import PR_EVIDENCE, match_members
from jira_onboarding.records import TeamMember

from jira_simulator import Workspace
from jira_simulator.github_side import responsible_account
from tests.unit.people.test_matching import member, user


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 0, 0.0, 0.0), (5, 5, 0.64, 0.66), (3, 3, 0.52, 0.54), (10, 20, 0.32, 0.34), (11, 12, 0.69, 0.71)],
)
def test_wilson_lower_bound(successes: int, trials: int, low: float, high: float) -> None:
    assert low <= wilson_lower_bound(successes, trials) <= high


# (case id, votes per account, verdict, decisive account)
SCORE_TABLE = [
    ("no_votes_is_thin", {}, "thin", None),
    ("three_of_three_is_thin", {"a": 3}, "thin", None),
    ("below_the_minimum_count_is_thin_whatever_the_share", {"a": MIN_LINKED_PRS - 1}, "thin", None),
    ("five_of_five_is_decisive", {"a": 5}, "decisive", "a"),
    ("eleven_of_twelve_is_decisive", {"a": 11, "b": 1}, "decisive", "a"),
    ("an_even_split_is_split", {"a": 6, "b": 6}, "split", None),
    ("a_strong_runner_up_is_split", {"a": 8, "b": 5}, "split", None),
    ("a_share_under_half_is_split", {"a": 6, "b": 3, "c": 3, "d": 3}, "split", None),
    ("six_of_eight_is_not_enough", {"a": 6, "b": 1, "c": 1}, "split", None),
]


@pytest.mark.parametrize(
    ("votes", "verdict", "account"), [row[1:] for row in SCORE_TABLE], ids=[r[0] for r in SCORE_TABLE]
)
def test_score_author_table(votes: dict[str, int], verdict: str, account: str | None) -> None:
    evidence = score_author("dev", votes)

    assert (evidence.verdict, evidence.account_id) == (verdict, account)
    assert evidence.linked_prs == sum(votes.values())
    if votes:
        assert evidence.top[0].prs == max(votes.values())


def test_work_items_vote_for_the_assignee_else_the_reporter_once_per_pr() -> None:
    people = {
        "AB-1": IssuePeople("alice", "rob"),
        "AB-2": IssuePeople(None, "rob"),
        "AB-3": IssuePeople(None, None),
    }
    prs = [
        ("r#1", "Dev", ["AB-1: fix", None, None]),
        ("r#2", "dev", ["AB-2 and AB-1", None, None]),  # first stored key in the order written
        ("r#3", "dev", ["AB-3 then AB-1", None, None]),  # AB-3 belongs to nobody: the next key votes
        ("r#4", "dev", ["AB-9 unknown", None, None]),
        ("r#5", None, ["AB-1", None, None]),  # no author: no vote
        ("r#6", "dev", ["nothing", "ab-1-branch", None]),  # lowercase key in the branch
    ]

    items = work_items(prs, people)

    assert [(i.pr_id, i.issue_key, i.account_id) for i in items] == [
        ("r#1", "AB-1", "alice"),
        ("r#2", "AB-2", "rob"),
        ("r#3", "AB-1", "alice"),
        ("r#6", "AB-1", "alice"),
    ]
    assert {i.author_login for i in items} == {"dev"}


def test_score_evidence_groups_by_author_and_keeps_examples_of_the_top_account() -> None:
    items = [WorkItem("dev", f"r#{n}", f"A-{n}", "alice") for n in range(6)] + [
        WorkItem("dev", "r#9", "A-9", "bob")
    ]

    evidence = score_evidence(items)["dev"]

    assert evidence.account_id == "alice" and evidence.linked_prs == 7
    assert evidence.examples == ["r#0 -> A-0", "r#1 -> A-1", "r#2 -> A-2"]


def _evidence(**votes_by_login: dict[str, int]):
    return {login: score_author(login, votes) for login, votes in votes_by_login.items()}


ALEXES = [user("a1", "Alex Kim"), user("a2", "Alex Kim"), user("o1", "Omar Haddad", None)]

# (case id, members, users, evidence, {member_id: (outcome, account, method)})
COMBINE_TABLE = [
    (
        "evidence_resolves_a_shared_display_name",
        [member("m1", "Alex Kim", login="ak1"), member("m2", "Alex Kim", login="ak2")],
        ALEXES,
        _evidence(ak1={"a1": 9, "o1": 1}, ak2={"a2": 7}),
        {"m1": ("matched", "a1", PR_EVIDENCE), "m2": ("matched", "a2", PR_EVIDENCE)},
    ),
    (
        "evidence_alone_matches_a_hidden_email_and_a_different_name",
        [member("m1", "Omar H.", login="oh")],
        ALEXES,
        _evidence(oh={"o1": 8}),
        {"m1": ("matched", "o1", PR_EVIDENCE)},
    ),
    (
        "evidence_outside_the_name_candidates_is_not_applied",
        [member("m1", "Alex Kim", login="ak1")],
        ALEXES,
        _evidence(ak1={"o1": 9}),
        {"m1": ("ambiguous", None, "display_name")},
    ),
    (
        "two_members_whose_work_points_at_one_account_get_neither",
        [member("m1", "Dev One", login="d1"), member("m2", "Dev Two", login="d2")],
        ALEXES,
        _evidence(d1={"o1": 9}, d2={"o1": 8}),
        {"m1": ("unmatched", None, None), "m2": ("unmatched", None, None)},
    ),
    (
        "an_account_claimed_by_email_is_not_given_by_evidence",
        [member("m1", "Omar", ("omar@acme.io",), login="om"), member("m2", "Helper", login="h")],
        [user("o1", "Omar Haddad", "omar@acme.io")],
        _evidence(h={"o1": 9}),
        {"m1": ("matched", "o1", "email"), "m2": ("unmatched", None, None)},
    ),
    (
        "evidence_never_overrides_a_stronger_signal",
        [member("m1", "Omar Haddad", login="om")],
        ALEXES,
        _evidence(om={"a1": 9}),
        {"m1": ("matched", "o1", "display_name")},
    ),
    (
        "manual_matches_and_not_in_jira_are_never_touched",
        [member("m1", "Omar H.", login="oh", manual=None), member("m2", "Alex Kim", login="ak", manual="a2")],
        ALEXES,
        _evidence(oh={"o1": 9}, ak={"a1": 9}),
        {"m1": ("manual", None, "manual"), "m2": ("manual", "a2", "manual")},
    ),
    (
        "thin_evidence_is_reported_not_applied",
        [member("m1", "Y. Tanaka", login="yt")],
        [user("y1", "Yuki Tanaka", "yuki.tanaka@acme.io")],
        _evidence(yt={"y1": 3}),
        {"m1": ("unmatched", None, None)},
    ),
    (
        "evidence_for_an_app_or_inactive_account_is_not_applied",
        [member("m1", "Bot Owner", login="bo"), member("m2", "Ex", login="ex")],
        [user("s1", "Slack", kind="app"), user("i1", "Ben Carter", active=False)],
        _evidence(bo={"s1": 9}, ex={"i1": 9}),
        {"m1": ("unmatched", None, None), "m2": ("unmatched", None, None)},
    ),
]


@pytest.mark.parametrize(
    ("members", "users", "evidence", "expected"),
    [row[1:] for row in COMBINE_TABLE],
    ids=[r[0] for r in COMBINE_TABLE],
)
def test_match_members_with_evidence_table(
    members: list[TeamMember], users: list[JiraUser], evidence: dict, expected: dict
) -> None:
    report = match_members(members, users, evidence)

    assert {m.member_id: (m.outcome, m.account_id, m.method) for m in report.matches} == expected


def test_match_members_reports_the_evidence_and_scores_it_as_the_confidence() -> None:
    report = match_members([member("m1", "Omar H.", login="OH")], ALEXES, _evidence(oh={"o1": 11, "a1": 1}))

    (match,) = report.matches
    assert match.evidence is not None and match.evidence.verdict == "decisive"
    assert match.confidence == match.evidence.score and 0.69 <= match.confidence <= 0.71


def demo_evidence(workspace: Workspace) -> dict:
    """The evidence as the pipeline reads it, computed straight from the workspace (merged PRs,
    each issue's assignee and reporter)."""
    people = {}
    for project in workspace.projects:
        for issue in workspace.issues_by_project[project.key]:
            fields = issue["fields"]
            people[issue["key"]] = IssuePeople(
                (fields.get("assignee") or {}).get("accountId"),
                (fields.get("reporter") or {}).get("accountId"),
            )
            assert people[issue["key"]].responsible == responsible_account(issue)
    prs = [
        (f"{p['repository']}#{p['number']}", p["author_login"], (p["title"], p["branch"], p["body"]))
        for p in workspace.pull_requests
        if p["merged_at"]
    ]
    return score_evidence(work_items(prs, people))


def test_match_members_on_the_demo_workspace_with_its_pull_requests_matches_more_and_none_wrong(
    workspace: Workspace,
) -> None:
    members = [TeamMember(team_id="t", **m) for m in workspace.team_members]
    users = [JiraUser.model_validate(u) for u in workspace.users]

    without = match_members(members, users)
    report = match_members(members, users, demo_evidence(workspace))

    matched = {m.member_id: m.account_id for m in report.matches if m.account_id}
    assert without.matched_count == 12
    assert report.matched_count == 16 > without.matched_count
    assert all(workspace.member_accounts[m] == a for m, a in matched.items())  # none wrong
    assert {m.member_id: m.account_id for m in report.matches} == workspace.expected_matches_with_prs
    assert sorted(m.member_id for m in report.by_method(PR_EVIDENCE)) == ["m04", "m16", "m17", "m18"]
    thin = next(m for m in report.matches if m.member_id == "m19")
    assert thin.outcome == "unmatched" and thin.evidence is not None and thin.evidence.verdict == "thin"
    assert thin.evidence.top[0].account_id == workspace.member_accounts["m19"]  # reported, for a person


@pytest.mark.parametrize("seed", [2, 3, 10])
def test_match_members_on_other_seeds_reaches_the_workspace_expectation(seed: int) -> None:
    from jira_simulator import build_workspace

    ws = build_workspace(seed)
    members = [TeamMember(team_id="t", **m) for m in ws.team_members]
    report = match_members(members, [JiraUser.model_validate(u) for u in ws.users], demo_evidence(ws))

    assert {m.member_id: m.account_id for m in report.matches} == ws.expected_matches_with_prs
    assert Counter(m.outcome for m in report.matches)["matched"] == 12 + len(ws.evidence_members)
