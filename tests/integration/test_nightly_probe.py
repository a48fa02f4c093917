"""An incremental run over several projects asks Jira once which of them changed (the planner's
probe, `logic/run/plan.changed_projects`): a project with nothing new costs no search of its own
and is COMPLETE from the plan; a changed one syncs as before. Same data, fewer calls."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.run.start import status_url

from jira_simulator import JiraSimulator, Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM, select_and_wait, set_project_fields

SEARCH = "POST /rest/api/3/search/jql"


def _second_run(stack: LocalStack, simulator: JiraSimulator, keys: list[str]) -> tuple[dict, int, list[str]]:
    """The team's nightly schedule fires: an incremental run of its projects (the one after the
    first sync). Returns its status, its search calls and the functions it invoked."""
    before_calls = len(simulator.calls(SEARCH))
    before_invocations = len(stack.invocations)
    for _, result, error in stack.fire_schedules(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())):
        assert error is None, result
    executions = stack.wait_for_executions(timeout_s=120)
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    latest = TeamStores(TEAM).runs.latest()
    assert latest is not None
    code, _, run = stack.http("GET", status_url(latest.run_id), team_id=TEAM)
    assert code == 200, run
    functions = [i.function for i in stack.invocations[before_invocations:]]
    return run, len(simulator.calls(SEARCH)) - before_calls, functions


def test_incremental_run_searches_only_the_projects_jira_says_changed(
    stack: LocalStack, connected_team: str, workspace: Workspace, simulator: JiraSimulator
):
    # Given every project synced once, then one issue of one project edited in Jira
    keys = [p.key for p in workspace.projects]
    assert len(keys) >= 3
    assert select_and_wait(stack, keys)["status"] == "COMPLETE"
    repo = TeamStores(TEAM)
    first = {p.project_key: p.last_synced_at for p in repo.projects.among(keys)}
    edited_key = f"{keys[1]}-1"
    assert workspace.get_issue(edited_key) is not None
    workspace.update_issue(edited_key, summary="Edited between the runs")

    # When the team's projects sync again (incremental: each has data)
    run, searches, functions = _second_run(stack, simulator, keys)

    # Then one probe over all of them and one search for the changed project: not one per project
    assert run["status"] == "COMPLETE"
    assert searches == 2
    projects = {p.project_key: p for p in repo.projects.among(keys)}
    assert {p.sync_mode for p in projects.values()} == {"incremental"}
    # the edit is stored, and every project, quiet or not, moved its starting point on
    stored = next(m for m in repo.issues.iter_models(keys[1]) if m.key == edited_key)
    assert stored.summary == "Edited between the runs"
    assert all(projects[k].last_synced_at > first[k] for k in keys)
    assert [f for f in functions if f == "SyncSegmentFunction"] == ["SyncSegmentFunction"]
    assert "ComputeMetricsFunction" in functions


def test_incremental_run_over_a_quiet_workspace_costs_one_search_and_still_computes_metrics(
    stack: LocalStack, connected_team: str, workspace: Workspace, simulator: JiraSimulator
):
    # Given every project synced once and nothing edited since
    keys = [p.key for p in workspace.projects]
    assert select_and_wait(stack, keys)["status"] == "COMPLETE"
    stored_before = TeamStores(TEAM).issues.count(keys[0])

    # When they sync again
    run, searches, functions = _second_run(stack, simulator, keys)

    # Then one search answered it for all of them; no segment ran, the metrics still did
    assert run["status"] == "COMPLETE"
    assert searches == 1
    assert "SyncSegmentFunction" not in functions
    assert "ComputeMetricsFunction" in functions
    assert TeamStores(TEAM).issues.count(keys[0]) == stored_before
    assert all(p["status"] == "COMPLETE" for p in run["projects"])


def test_incremental_run_with_a_project_due_for_its_weekly_sweep_runs_that_project_s_segment(
    stack: LocalStack, connected_team: str, workspace: Workspace, simulator: JiraSimulator
):
    # Given every project synced once, one of them last swept over a week ago, nothing edited
    keys = [p.key for p in workspace.projects]
    assert select_and_wait(stack, keys)["status"] == "COMPLETE"
    set_project_fields(TEAM, keys[0], last_swept_at=datetime.now(UTC) - timedelta(days=8))

    # When they sync again
    _, _, functions = _second_run(stack, simulator, keys)

    # Then the probe leaves that project out: its segment runs, with the sweep
    segments = [i for i in stack.invocations if i.function == "SyncSegmentFunction"]
    assert [f for f in functions if f == "SyncSegmentFunction"] == ["SyncSegmentFunction"]
    assert segments[-1].event["project_key"] == keys[0]
    swept = TeamStores(TEAM).projects.get(keys[0])
    assert swept is not None and swept.last_swept_at > datetime.now(UTC) - timedelta(minutes=5)
