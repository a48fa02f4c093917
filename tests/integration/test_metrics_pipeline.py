"""Metrics at the end of a run, on moto with the real state machine, against the simulator."""

from __future__ import annotations

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.insights.gather import gather_insight_data
from jira_onboarding.records import PullRequest

from jira_simulator import Workspace
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run


def _load_prs(workspace: Workspace) -> None:
    TeamStores(TEAM).metrics.save_pull_requests(
        PullRequest.model_validate({**pr, "team_id": TEAM}) for pr in workspace.pull_requests
    )


def test_metrics_pipeline_stores_a_snapshot_and_insights_served_by_the_api(
    stack, connected_team, workspace, settings_env
):
    # Given the team's GitHub PRs, and a window wide enough for the simulator's fixed dates
    settings_env(METRICS_WINDOW_DAYS="365")
    _load_prs(workspace)
    assert stack.http("GET", "/jira/metrics", team_id=TEAM)[0] == 404  # nothing computed yet

    # When a run syncs ALPHA
    run = _run(stack, ["ALPHA"])

    # Then the run completed, and its sprint history came from the bulk changelog
    assert run["status"] == "COMPLETE"
    issues = list(TeamStores(TEAM).issues.iter_models("ALPHA"))
    assert any(i.sprint_changes for i in issues) and any(i.status_changes for i in issues)
    # and the metrics snapshot is served, each figure with its basis
    code, _, metrics = stack.http("GET", "/jira/metrics", team_id=TEAM)
    assert code == 200
    boards = metrics["sprint_metrics"]["boards"]
    assert [b["project_key"] for b in boards] == ["ALPHA"]
    assert any(s["state"] == "active" for s in boards[0]["sprints"])
    assert boards[0]["cycle_time"]["from_status_changelog"] > 0
    assert "committed" in metrics["sprint_metrics"]["basis"]
    linkage = metrics["linkage"]
    assert linkage["merged_prs"] == sum(1 for p in workspace.pull_requests if p["merged_at"])
    linked_alpha = {
        f"{p['repository']}#{p['number']}"
        for p in workspace.pull_requests
        if p["merged_at"] and (p["linked_key"] or "").startswith("ALPHA-")
    }
    assert linkage["linked_prs"] == len(linked_alpha)
    assert linkage["unlinked_reasons"]["unknown_project"] > 0 and linkage["unlinked_reasons"]["no_key"] > 0
    # and the insights, written by the offline generator (no Bedrock model configured locally)
    code, _, insights = stack.http("GET", "/jira/insights", team_id=TEAM)
    assert code == 200 and insights["generator"] == "offline"
    assert [i["rank"] for i in insights["insights"]] == list(range(1, len(insights["insights"]) + 1))
    # and the insight data has a Jira section from that snapshot
    data = gather_insight_data(TEAM)
    assert data.jira is not None and data.jira.snapshot_id == metrics["snapshot_id"]


def test_metrics_pipeline_failure_never_fails_the_run(stack, connected_team):
    # Given the metrics step crashes
    def crash(handler, event, context):
        raise RuntimeError("metrics exploded")

    stack.dispatch_hooks["ComputeMetricsFunction"] = crash

    # When a run syncs OPS
    run = _run(stack, ["OPS"])

    # Then the run still completes, and there are simply no metrics yet
    assert run["status"] == "COMPLETE"
    assert stack.http("GET", "/jira/metrics", team_id=TEAM)[0] == 404
    assert stack.http("GET", "/jira/insights", team_id=TEAM)[0] == 404


def test_gather_insight_data_has_no_jira_section_without_a_connection(stack):
    data = gather_insight_data("team-without-jira")

    assert data.jira is None and data.members == 0
