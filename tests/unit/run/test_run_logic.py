"""One run through the library's logic, step by step as the state machine calls it, on moto tables
built from template.yaml and the in-process Jira simulator: the wiring of the steps is the
integration suite's; here each step's decisions are checked where they are made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jira_onboarding.contracts import ProjectStepInput, RunOutcome, RunPlan, StepInput
from jira_onboarding.dal.metrics import MetricsStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.metrics.compute import compute_metrics, latest_insights, latest_metrics
from jira_onboarding.logic.people.users import sync_users
from jira_onboarding.logic.run.finish import finish_run
from jira_onboarding.logic.run.plan import plan_run
from jira_onboarding.logic.run.reconcile import reconcile_run
from jira_onboarding.logic.run.segment import sync_segment
from jira_onboarding.records import SyncStatus

from jira_simulator import Workspace

MAX_INVOCATIONS = 50


def _sync_segment(segment: ProjectStepInput) -> int:
    """Invoke the segment's step until it is done, as the state machine's loop does."""
    for invocation in range(1, MAX_INVOCATIONS + 1):
        if sync_segment(segment, time_left_s=lambda: 900.0).done:
            return invocation
    raise AssertionError(f"{segment.project_key}/{segment.segment} never finished")


def _run(team_id: str, run_id: str, keys: list[str]) -> RunPlan:
    TeamStores(team_id).runs.record(run_id, keys)
    step = StepInput(team_id=team_id, run_id=run_id)
    plan = plan_run(step)
    sync_users(step)
    for phase in plan.phases:
        for segment in phase.segments:  # the Sync Segments Map adds the team and the run
            _sync_segment(ProjectStepInput(team_id=team_id, run_id=run_id, **segment.model_dump()))
    reconcile_run(step)
    finish_run(RunOutcome(team_id=team_id, run_id=run_id))
    return plan


def test_a_first_run_stores_every_issue_and_completes(connected_team: str, workspace: Workspace) -> None:
    plan = _run(connected_team, "run-1", ["ALPHA", "OPS"])

    stores = TeamStores(connected_team)
    assert [p.name for p in plan.phases] == ["recent"]
    for key in ("ALPHA", "OPS"):
        project = stores.projects.get(key)
        assert project is not None and project.sync_status == SyncStatus.COMPLETE
        assert project.sync_mode == "full" and project.fresh_store is True
        assert project.issues_stored == stores.issues.count(key) == workspace.issue_count(key)
        assert project.issues_fetched == project.issues_written == project.issues_stored
    run = stores.runs.get("run-1")
    assert run is not None and run.status.value == "COMPLETE" and run.users_summary
    assert stores.boards.list_boards() and stores.connection.get().field_map  # type: ignore[union-attr]


def test_a_second_run_is_incremental_and_rewrites_nothing_unchanged(connected_team: str) -> None:
    _run(connected_team, "run-1", ["OPS"])
    written_before = {
        i["issue_key"]: i["synced_at"] for i in TeamStores(connected_team).issues.iter_items("OPS")
    }

    plan = _run(connected_team, "run-2", ["OPS"])

    project = TeamStores(connected_team).projects.get("OPS")
    assert (
        project is not None
        and project.sync_mode == "incremental"
        and project.sync_status == SyncStatus.COMPLETE
    )
    assert [s.segment for p in plan.phases for s in p.segments] == ["all"]
    assert "updated >=" in project.segments["all"].jql
    written_after = {
        i["issue_key"]: i["synced_at"] for i in TeamStores(connected_team).issues.iter_items("OPS")
    }
    assert written_after == written_before
    # and the store's count stays what it was: nothing was written
    assert project.issues_written == 0
    assert project.issues_stored == TeamStores(connected_team).issues.count("OPS")


def test_plan_run_fails_a_project_jira_does_not_know_and_plans_the_others(connected_team: str) -> None:
    TeamStores(connected_team).runs.record("run-1", ["ALPHA", "NOPE"])

    plan = plan_run(StepInput(team_id=connected_team, run_id="run-1"))

    assert [s.project_key for p in plan.phases for s in p.segments] == ["ALPHA"]
    nope = TeamStores(connected_team).projects.get("NOPE")
    assert (
        nope is not None and nope.sync_status == SyncStatus.FAILED and nope.error_name == "JiraNotFoundError"
    )


def test_reconcile_run_sweeps_issues_deleted_in_jira_during_the_run(
    connected_team: str, workspace: Workspace
) -> None:
    # Given a first run, and an issue deleted in Jira after the run fetched it
    _run(connected_team, "run-1", ["OPS"])
    workspace.delete_issue(workspace.issues_by_project["OPS"][0]["key"])

    result = reconcile_run(StepInput(team_id=connected_team, run_id="run-1"))

    assert result["swept"] == ["OPS"]
    stores = TeamStores(connected_team)
    assert stores.issues.count("OPS") == workspace.issue_count("OPS")
    assert stores.projects.get("OPS").issues_stored == workspace.issue_count("OPS")  # type: ignore[union-attr]


def test_compute_metrics_stores_a_snapshot_and_insights_the_api_serves(connected_team: str) -> None:
    _run(connected_team, "run-1", ["ALPHA"])
    now = datetime.now(UTC) + timedelta(seconds=1)

    summary = compute_metrics(StepInput(team_id=connected_team, run_id="run-1"), now=now)

    metrics = latest_metrics(connected_team)
    insights = latest_insights(connected_team)
    assert metrics.snapshot_id == summary.snapshot_id == insights.snapshot_id
    assert metrics.sprint_metrics is not None and summary.boards == len(metrics.sprint_metrics.boards)
    # Served typed, the figures are the ones stored, unchanged (the models read back what they dumped).
    stored = MetricsStore(connected_team).latest_snapshot()
    assert stored is not None and metrics.model_dump(
        mode="json", include={"sprint_metrics", "linkage", "releases"}
    ) == {
        "sprint_metrics": stored.sprint_metrics,
        "linkage": stored.linkage,
        "releases": stored.releases,
    }
    assert summary.insights == len(insights.insights) and summary.generator == insights.generator


@pytest.mark.parametrize("read", [latest_metrics, latest_insights])
def test_latest_metrics_and_insights_are_not_found_before_a_run(team_id: str, read: Any) -> None:
    from jira_onboarding.errors import OnboardingRequestError

    with pytest.raises(OnboardingRequestError) as raised:
        read(team_id)

    assert raised.value.status == 404


def test_sync_users_of_a_nightly_run_leaves_recently_fetched_users_as_they_are(connected_team: str) -> None:
    # Given users fetched by a run today, and the team's members unchanged since
    step = StepInput(team_id=connected_team, run_id="run-1")
    TeamStores(connected_team).runs.record("run-1", ["OPS"])
    fetched = sync_users(step)
    TeamStores(connected_team).runs.record("run-2", ["OPS"], trigger="nightly")

    # When the nightly run's users step runs, Then it fetches nothing and says why
    summary = sync_users(StepInput(team_id=connected_team, run_id="run-2"))

    assert fetched.users_fetched > 0 and summary.users_fetched == 0
    assert summary.refresh_skipped and "fetched again weekly" in summary.refresh_skipped
    run = TeamStores(connected_team).runs.get("run-2")
    assert (
        run is not None
        and run.users_summary
        and run.users_summary["refresh_skipped"] == summary.refresh_skipped
    )


def test_sync_users_throttled_hands_the_wait_to_the_state_machine_then_fetches(
    connected_team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a site whose quota pause has half an hour to go (the site's budget holds the call)
    from jira_onboarding.dal.tables import OnboardingRunItem
    from jira_onboarding.errors import JiraThrottledError
    from jira_onboarding.jira.client import JiraClient

    stores = TeamStores(connected_team)
    stores.runs.record("run-1", ["OPS"])
    step = StepInput(team_id=connected_team, run_id="run-1")
    iter_user_pages = JiraClient.iter_user_pages

    def paused(self: JiraClient, *args: Any, **kwargs: Any) -> Any:
        raise JiraThrottledError("Jira paused this site's calls.", retry_after=1799.2, held=True)

    monkeypatch.setattr(JiraClient, "iter_user_pages", paused)

    # When the users step runs, Then it stores nothing and asks the state machine to wait
    summary = sync_users(step)
    assert summary.wait_seconds == 1800 and summary.users_fetched == 0
    assert stores.people.list_jira_users() == []
    run = stores.runs.get("run-1")
    assert run is not None and run.users_summary is None
    assert OnboardingRunItem.get(connected_team, "run-1").users_waited_seconds == 1800

    # and run again after the wait, it fetches and matches the users as usual
    monkeypatch.setattr(JiraClient, "iter_user_pages", iter_user_pages)
    fetched = sync_users(step)
    assert fetched.wait_seconds == 0 and fetched.users_fetched == len(stores.people.list_jira_users()) > 0


def test_sync_users_throttled_past_the_runs_allowance_fails_the_step(
    connected_team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
    from jira_onboarding.jira.client import JiraClient
    from jira_onboarding.logic.jira_access import waits as jira_waits

    TeamStores(connected_team).runs.record("run-1", ["OPS"])
    step = StepInput(team_id=connected_team, run_id="run-1")

    def throttled(self: JiraClient, *args: Any, **kwargs: Any) -> Any:
        raise JiraThrottledError("Jira is rate limiting these calls.", retry_after=3600)

    monkeypatch.setattr(JiraClient, "iter_user_pages", throttled)
    for _ in range(jira_waits.MAX_THROTTLED_SECONDS // 3600):
        assert sync_users(step).wait_seconds == 3600
    with pytest.raises(JiraRateLimitExhaustedError, match="nightly run fetches them again"):
        sync_users(step)
