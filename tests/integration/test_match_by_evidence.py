"""Matching by the work as evidence, on moto with the real state machine, against the simulator:
the members only their pull requests can find are matched once the issues are stored (in
Compute Metrics), none wrongly against the workspace's truth, and a re-sync keeps it so."""

from __future__ import annotations

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.records import PullRequest

from jira_simulator import Workspace
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run


def test_pipeline_with_pull_requests_matches_more_members_and_none_wrong(
    stack, connected_team, workspace: Workspace
):
    # Given the team's GitHub pull requests stored beside its members
    TeamStores(TEAM).metrics.save_pull_requests(
        PullRequest.model_validate({**pr, "team_id": TEAM}) for pr in workspace.pull_requests
    )

    # When the team onboards every project
    run = _run(stack, [p.key for p in workspace.projects])

    # Then more members are matched than by email, name and login alone, and none wrongly
    assert run["status"] == "COMPLETE"
    members = {m.member_id: m for m in TeamStores(TEAM).people.list_members()}
    matched = {k: m.jira_account_id for k, m in members.items() if m.jira_account_id}
    without_prs = sum(1 for a in workspace.expected_matches.values() if a)
    assert without_prs == 12 and len(matched) == 16
    assert all(workspace.member_accounts[k] == a for k, a in matched.items())
    assert {k: m.jira_account_id for k, m in members.items()} == workspace.expected_matches_with_prs
    by_evidence = sorted(k for k, m in members.items() if m.match_method == "pr_evidence")
    assert by_evidence == sorted(workspace.evidence_members)
    assert all(0.5 <= (members[k].match_confidence or 0) < 1 for k in by_evidence)
    # and the member whose history is thin keeps its evidence for a person to decide
    thin = members["m19"]
    assert thin.jira_account_id is None and thin.match_evidence is not None
    assert thin.match_evidence["verdict"] == "thin"
    assert thin.match_evidence["top"][0]["account_id"] == workspace.member_accounts["m19"]

    # When the pipeline runs again, Then the matches stay as they are
    _run(stack, [p.key for p in workspace.projects])
    again = {m.member_id: (m.jira_account_id, m.match_method) for m in TeamStores(TEAM).people.list_members()}
    assert again == {k: (m.jira_account_id, m.match_method) for k, m in members.items()}
