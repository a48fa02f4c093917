"""The nightly function: failed and stuck projects re-run, unchanged ones cost one call and no
writes, deleted issues are marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jira_onboarding.dal.tables import JiraIssueItem, TrackedProjectItem
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.records import TeamMember

from jira_simulator import FaultPlan, JiraSimulator, Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM


def _select(stack: LocalStack, keys: list[str]) -> None:
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert status == 202, body
    stack.wait_for_executions()


def _nightly(stack: LocalStack) -> dict:
    """Tonight's schedules fire (the team's own, created when it connected)."""
    fired = stack.fire_schedules(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert len(fired) == 1, fired
    _, result, error = fired[0]
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
    repo = TeamStores(TEAM)
    assert repo.projects.get("BETA").sync_status == "FAILED"
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
        project = repo.projects.get(key)
        assert project.sync_status == "COMPLETE", key
        assert repo.issues.count(key) == workspace.issue_count(key)
    assert repo.runs.get(result["runs"][TEAM]).trigger == "nightly"


def test_nightly_leaves_a_run_in_progress_alone(stack, connected_team):
    _select(stack, ["OPS"])
    TrackedProjectItem(TEAM, "OPS").update(actions=[TrackedProjectItem.sync_status.set("SYNCING")])
    from jira_onboarding.dal.tables import OnboardingRunItem

    run_id = TeamStores(TEAM).projects.get("OPS").run_id
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
    snapshot_before = TeamStores(TEAM).metrics.latest_snapshot_time()

    # When the nightly batch refreshes it
    result = _nightly(stack)

    # Then the whole night cost one search call and no issue writes: the users were fetched at
    # onboarding and the team's members have not changed, so they are not fetched again
    assert [r.path for r in simulator.request_log[calls_before:]] == ["/rest/api/3/search/jql"]
    assert counter.writes == 0
    # and the metrics were not computed again (nothing they depend on changed)
    assert snapshot_before is not None
    assert TeamStores(TEAM).metrics.latest_snapshot_time() == snapshot_before
    assert TeamStores(TEAM).projects.get("ALPHA").sync_status == "COMPLETE"
    # (read by its id: a schedule's nominal time within the onboarding's second sorts before it)
    run = TeamStores(TEAM).runs.get(result["runs"][TEAM])
    assert run is not None and run.users_summary and run.users_summary["refresh_skipped"]


def test_nightly_fetches_the_users_again_when_the_members_changed(
    stack, connected_team, workspace: Workspace, simulator: JiraSimulator
):
    # Given OPS synced (users fetched and matched), then a new member joined the team on GitHub
    _select(stack, ["OPS"])
    users_before = {u.account_id: u for u in TeamStores(TEAM).people.list_jira_users()}
    unmatched = next(
        u
        for u in workspace.users
        if u["accountId"] not in {m for m in workspace.expected_matches.values() if m}
        and u.get("emailAddress")
        and u.get("accountType") == "atlassian"
        and u.get("active", True)
    )
    TeamStores(TEAM).people.save_member(
        TeamMember(
            team_id=TEAM, member_id="m-new", display_name="New Hire", emails=[unmatched["emailAddress"]]
        )
    )
    calls_before = len(simulator.request_log)

    # When the nightly batch runs
    _nightly(stack)

    # Then the users were fetched again and the new member matched; unchanged users not rewritten
    assert any("/users/search" in r.path for r in simulator.request_log[calls_before:])
    members = {m.member_id: m for m in TeamStores(TEAM).people.list_members()}
    assert members["m-new"].jira_account_id == unmatched["accountId"]
    run = TeamStores(TEAM).runs.latest()
    assert run is not None and run.users_summary["users_written"] == 0
    assert {u.account_id: u for u in TeamStores(TEAM).people.list_jira_users()} == users_before


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

    repo = TeamStores(TEAM)
    stored = {item["issue_key"]: item for item in repo.issues.iter_items("ALPHA")}
    assert stored[edited]["summary"] == "Renamed in Jira"
    assert stored[deleted]["deleted"] is True
    assert repo.issues.count("ALPHA") == workspace.issue_count("ALPHA")
    progress = repo.projects.get("ALPHA")
    assert progress.sync_status == "COMPLETE"
    assert progress.issues_stored == workspace.issue_count("ALPHA")


def test_nightly_refreshes_the_sprints_of_a_project_with_activity(
    stack, connected_team, workspace: Workspace, simulator: JiraSimulator
):
    # Given ALPHA synced, then in Jira its active sprint was closed and one of its issues edited
    _select(stack, ["ALPHA"])
    repo = TeamStores(TEAM)
    active = next(
        s for s in repo.boards.list_sprints() if s.state == "active" and s.board_id in _alpha_boards(repo)
    )
    sprint = workspace.sprint(active.id)
    sprint["state"] = "closed"
    sprint["completeDate"] = sprint.get("endDate")
    keys = [raw["key"] for raw in workspace.issues_by_project["ALPHA"]]
    workspace.update_issue(keys[0], summary="Touched as the sprint closed")
    calls_before = len(simulator.request_log)

    _nightly(stack)

    # Then the stored sprint is closed, and the refresh cost the boards and sprints calls
    assert next(s for s in repo.boards.list_sprints() if s.id == active.id).state == "closed"
    paths = [r.path for r in simulator.request_log[calls_before:]]
    assert any(p.endswith("/sprint") for p in paths)


def _alpha_boards(repo: TeamStores) -> set[int]:
    return {board.id for board, _ in repo.boards.list_boards() if board.project_key == "ALPHA"}
