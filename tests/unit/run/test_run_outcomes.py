"""A run's outcomes on moto tables built from template.yaml: a failed project, the run's end, what
the status answers, and what the nightly batch picks up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.contracts import ProjectFailure, RunOutcome
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.nightly.retry import STUCK_AFTER, _in_progress, nightly_run_id, plan_team_night
from jira_onboarding.logic.run.finish import finish_run, mark_project_failed
from jira_onboarding.logic.run.ids import new_run_id
from jira_onboarding.logic.run.status import get_run_status
from jira_onboarding.records import RunStatus, SyncStatus, TrackedProject

from tests.conftest import set_project_fields

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
DENIED = {"Error": "JiraPermissionError", "Cause": '{"errorMessage": "No access to BETA."}'}


def test_mark_project_failed_records_the_reason_and_the_nightly_retry(team_id: str) -> None:
    TeamStores(team_id).runs.record("run-1", ["ALPHA", "BETA"])

    result = mark_project_failed(
        ProjectFailure(team_id=team_id, run_id="run-1", project_key="BETA", error=DENIED)
    )

    beta = TeamStores(team_id).projects.get("BETA")
    assert result == {
        "project_key": "BETA",
        "status": "FAILED",
        "reason": "No access to BETA.",
        "applied": True,
    }
    assert beta is not None and (beta.sync_status, beta.error_name) == (
        SyncStatus.FAILED,
        "JiraPermissionError",
    )
    assert beta.next_retry_at is not None and beta.next_retry_at.hour == 2


def test_mark_project_failed_leaves_a_project_a_newer_run_took_over(team_id: str) -> None:
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["BETA"])
    stores.runs.record("run-2", ["BETA"])

    result = mark_project_failed(
        ProjectFailure(team_id=team_id, run_id="run-1", project_key="BETA", error=DENIED)
    )

    assert result["applied"] is False
    assert stores.projects.get("BETA").sync_status == SyncStatus.PENDING  # type: ignore[union-attr]


def test_finish_run_fails_projects_left_without_an_outcome_and_says_why(team_id: str) -> None:
    # Given a run whose plan failed: ALPHA completed earlier in the run, BETA never started
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["ALPHA", "BETA"])
    set_project_fields(team_id, "ALPHA", sync_status="COMPLETE")
    plan_error = {"Error": "JiraServerError", "Cause": '{"errorMessage": "Jira kept failing."}'}
    users_error = {"Error": "JiraTimeoutError"}

    result = finish_run(
        RunOutcome(team_id=team_id, run_id="run-1", plan_error=plan_error, users_error=users_error)
    )

    assert result == {
        "run_id": "run-1",
        "status": "COMPLETE_WITH_FAILURES",
        "projects": {"ALPHA": "COMPLETE", "BETA": "FAILED"},
    }
    run = stores.runs.get("run-1")
    assert run is not None and run.status == RunStatus.COMPLETE_WITH_FAILURES and run.finished_at
    assert run.users_error == "Jira did not answer in time."
    assert stores.projects.get("BETA").reason == "The sync could not start: Jira kept failing."  # type: ignore[union-attr]


def test_finish_run_is_complete_when_every_project_of_the_run_completed(team_id: str) -> None:
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["ALPHA", "BETA"])
    stores.runs.record("run-2", ["BETA"])  # BETA moved to a newer run: not this run's to judge
    set_project_fields(team_id, "ALPHA", sync_status="COMPLETE")

    result = finish_run(RunOutcome(team_id=team_id, run_id="run-1"))

    assert result["status"] == "COMPLETE" and result["projects"] == {"ALPHA": "COMPLETE"}


def test_get_run_status_answers_the_run_and_its_projects(team_id: str) -> None:
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["ALPHA", "BETA"])
    set_project_fields(
        team_id, "ALPHA", sync_status="SYNCING", sync_mode="full", issues_fetched=40, issues_total_estimate=80
    )

    status = get_run_status(team_id, "run-1")

    assert (status.run_id, status.status, status.done) == ("run-1", "RUNNING", False)
    assert [(p.project_key, p.status, p.percent) for p in status.projects] == [
        ("ALPHA", "SYNCING", 50),
        ("BETA", "PENDING", None),
    ]


def test_get_run_status_of_another_teams_run_is_not_found(team_id: str) -> None:
    TeamStores("someone-else").runs.record("run-theirs", ["ALPHA"])

    with pytest.raises(OnboardingRequestError) as raised:
        get_run_status(team_id, "run-theirs")

    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("run_status", "sync_status", "idle", "expected"),
    [
        (RunStatus.RUNNING, SyncStatus.SYNCING, timedelta(minutes=5), True),
        (RunStatus.RUNNING, SyncStatus.PENDING, timedelta(minutes=5), True),
        (RunStatus.RUNNING, SyncStatus.SYNCING, STUCK_AFTER, False),  # stuck: run it again
        (RunStatus.RUNNING, SyncStatus.COMPLETE, timedelta(minutes=5), False),
        (RunStatus.RUNNING, SyncStatus.FAILED, timedelta(minutes=5), False),
        (RunStatus.COMPLETE, SyncStatus.SYNCING, timedelta(minutes=5), False),  # the run is over
        (RunStatus.QUEUED, SyncStatus.PENDING, timedelta(minutes=5), False),
        (None, SyncStatus.PENDING, timedelta(minutes=5), False),
    ],
)
def test_in_progress_only_while_a_live_run_moves_the_project(
    run_status: RunStatus | None, sync_status: SyncStatus, idle: timedelta, expected: bool
) -> None:
    project = TrackedProject(team_id="t", project_key="ALPHA", sync_status=sync_status, updated_at=NOW - idle)

    assert _in_progress(project, run_status, NOW) is expected


def test_plan_team_night_runs_every_selected_project_not_in_progress(team_id: str) -> None:
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["ALPHA", "BETA", "OPS"])
    stores.runs.record("run-2", ["ALPHA", "BETA"], untrack_others=True)  # OPS deselected
    set_project_fields(team_id, "ALPHA", sync_status="COMPLETE")

    keys, skipped = plan_team_night(stores, datetime.now(UTC))

    # BETA belongs to the live run-2 and has just moved: left alone
    assert keys == ["ALPHA"]
    assert skipped == 1


def test_run_claim_refuses_a_second_claim_of_one_run_id(team_id: str) -> None:
    runs = TeamStores(team_id).runs
    run_id = nightly_run_id(team_id, NOW)

    assert runs.claim(run_id, trigger="nightly") is True
    assert runs.claim(run_id, trigger="nightly") is False
    runs.release_claim(run_id)  # nothing to run after all: the id is free again
    assert runs.claim(run_id, trigger="nightly") is True


def test_nightly_run_id_is_one_per_team_and_night_and_a_valid_execution_name() -> None:
    import re

    tonight = nightly_run_id("team-a", NOW)
    assert tonight == nightly_run_id("team-a", NOW)  # every retry of the night
    assert tonight != nightly_run_id("team-b", NOW)
    tomorrow = nightly_run_id("team-a", NOW + timedelta(days=1))
    assert tonight < tomorrow  # run ids sort by time
    assert tonight < new_run_id("team-a", ["ALPHA"], NOW + timedelta(seconds=1))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", nightly_run_id("équipe / ü" * 20, NOW))
