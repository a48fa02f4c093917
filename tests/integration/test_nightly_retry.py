"""The nightly function: failed and stuck projects re-run, unchanged ones cost one call and no
writes, deleted issues are marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jira_onboarding.dal.repository import Repository
from jira_onboarding.dal.tables import JiraIssueItem, TrackedProjectItem

from jira_simulator import FaultPlan, JiraSimulator, Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM, load_event


def _select(stack: LocalStack, keys: list[str]) -> None:
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert status == 202, body
    stack.wait_for_executions()


def _nightly(stack: LocalStack) -> dict:
    result, error = stack.invoke(stack.resolver.physical["NightlyRetryFunction"], load_event("nightly_retry"))
    assert error is None, result
    stack.wait_for_executions()
    return result


class _CountingWrites:
    """Counts DynamoDB item writes to the issues table during a block."""

    def __init__(self, monkeypatch) -> None:
        self.writes = 0
        original_batch = JiraIssueItem.batch_write

        counter = self

        def batch_write(*args, **kwargs):
            batch = original_batch(*args, **kwargs)
            original_save = batch.save

            def save(item):
                counter.writes += 1
                return original_save(item)

            batch.save = save
            return batch

        original_update = JiraIssueItem.update

        def update(self, *args, **kwargs):
            counter.writes += 1
            return original_update(self, *args, **kwargs)

        monkeypatch.setattr(JiraIssueItem, "batch_write", batch_write)
        monkeypatch.setattr(JiraIssueItem, "update", update)


def test_nightly_reruns_failed_and_stuck_projects(stack, connected_team, workspace, simulator: JiraSimulator):
    # Given BETA failed (no access) and OPS is stuck SYNCING for hours under a run that never finished
    simulator.faults = FaultPlan.fail_project("BETA", status=403)
    _select(stack, ["BETA", "OPS", "ALPHA"])
    repo = Repository(TEAM)
    assert repo.get_project("BETA").sync_status == "FAILED"
    TrackedProjectItem(TEAM, "OPS").update(
        actions=[
            TrackedProjectItem.sync_status.set("SYNCING"),
            TrackedProjectItem.updated_at.set(datetime.now(UTC) - timedelta(hours=3)),
        ]
    )
    # When access comes back and the nightly batch runs
    simulator.faults = FaultPlan.none()
    result = _nightly(stack)

    # Then every selected project ran again and all are COMPLETE with Jira's issues
    assert result["runs"].keys() == {TEAM}
    for key in ("ALPHA", "BETA", "OPS"):
        project = repo.get_project(key)
        assert project.sync_status == "COMPLETE", key
        assert repo.count_issues(key) == workspace.issue_count(key)
    assert repo.get_run(result["runs"][TEAM]).trigger == "nightly"


def test_nightly_leaves_a_run_in_progress_alone(stack, connected_team):
    _select(stack, ["OPS"])
    TrackedProjectItem(TEAM, "OPS").update(actions=[TrackedProjectItem.sync_status.set("SYNCING")])
    from jira_onboarding.dal.tables import OnboardingRunItem

    run_id = Repository(TEAM).get_project("OPS").run_id
    OnboardingRunItem(TEAM, run_id).update(actions=[OnboardingRunItem.status.set("RUNNING")])

    result = _nightly(stack)

    assert result["runs"] == {}
    assert result["skipped_in_progress"] == 1


def test_nightly_refresh_of_an_unchanged_project_costs_one_call_and_no_writes(
    stack, connected_team, simulator: JiraSimulator, monkeypatch
):
    # Given ALPHA synced and swept, and nothing changed in Jira since
    _select(stack, ["ALPHA"])
    calls_before = len(simulator.request_log)
    counter = _CountingWrites(monkeypatch)

    # When the nightly batch refreshes it
    _nightly(stack)

    # Then the project cost one search call (plus the team's users sync) and no issue writes
    project_calls = [r for r in simulator.request_log[calls_before:] if "/users/search" not in r.path]
    assert [r.path for r in project_calls] == ["/rest/api/3/search/jql"]
    assert counter.writes == 0
    assert Repository(TEAM).get_project("ALPHA").sync_status == "COMPLETE"


def test_nightly_picks_up_changes_and_marks_deleted_issues(
    stack, connected_team, workspace: Workspace, simulator: JiraSimulator
):
    # Given ALPHA synced, then in Jira one issue was edited and one deleted, and the weekly sweep is due
    _select(stack, ["ALPHA"])
    keys = [raw["key"] for raw in workspace.issues_by_project["ALPHA"]]
    edited, deleted = keys[3], keys[7]
    workspace.update_issue(edited, summary="Renamed in Jira")
    workspace.delete_issue(deleted)
    TrackedProjectItem(TEAM, "ALPHA").update(
        actions=[TrackedProjectItem.last_swept_at.set(datetime.now(UTC) - timedelta(days=8))]
    )

    _nightly(stack)

    repo = Repository(TEAM)
    stored = {item["issue_key"]: item for item in repo.iter_issues("ALPHA")}
    assert stored[edited]["summary"] == "Renamed in Jira"
    assert stored[deleted]["deleted"] is True
    assert repo.count_issues("ALPHA") == workspace.issue_count("ALPHA")
    progress = repo.get_project("ALPHA")
    assert progress.sync_status == "COMPLETE"
    assert progress.issues_stored == workspace.issue_count("ALPHA")
