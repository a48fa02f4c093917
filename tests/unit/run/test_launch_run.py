"""Recording a run and starting its execution (moto's Step Functions records the start; nothing runs)."""

from __future__ import annotations

import json

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import NotConnectedError, OnboardingRequestError
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.run.start import execution_arn, launch_run
from jira_onboarding.records import RunStatus, SyncStatus


def test_execution_arn_is_the_one_step_functions_gives_a_named_execution() -> None:
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:jira-onboarding-dev"

    assert (
        execution_arn(machine, "run-1")
        == "arn:aws:states:eu-west-1:123456789012:execution:jira-onboarding-dev:run-1"
    )


def test_launch_run_starts_the_execution_named_by_the_run(team_id: str, state_machine: str) -> None:
    run_id, status = launch_run(team_id, ["ALPHA", "BETA"], trigger="selection")

    run = TeamStores(team_id).runs.get(run_id)
    assert status == "RUNNING" and run is not None and run.status == RunStatus.RUNNING
    assert run.execution_arn == execution_arn(state_machine, run_id)
    assert [p.sync_status for p in TeamStores(team_id).projects.list_tracked()] == [SyncStatus.PENDING] * 2


def test_launch_run_queues_the_run_when_the_execution_cannot_start(team_id: str) -> None:
    # No state machine configured: the run waits for the nightly batch, and the caller sees no error
    run_id, status = launch_run(team_id, ["ALPHA"], trigger="selection")

    run = TeamStores(team_id).runs.get(run_id)
    assert status == "PENDING" and run is not None and run.status == RunStatus.QUEUED
    assert run.execution_arn is None and run.reason and "nightly" in run.reason


def test_launch_run_without_start_queues_for_the_nightly_sync(team_id: str) -> None:
    run_id, status = launch_run(team_id, ["ALPHA"], trigger="selection", start=False)

    run = TeamStores(team_id).runs.get(run_id)
    assert status == "PENDING" and run is not None and run.reason == "Queued for the nightly sync."


def test_launch_run_requiring_a_connection_records_nothing_without_one(team_id: str) -> None:
    with pytest.raises(NotConnectedError):
        launch_run(team_id, ["ALPHA"], trigger="selection", require_connection=True)

    assert TeamStores(team_id).runs.latest() is None and TeamStores(team_id).projects.list_tracked() == []


@pytest.mark.parametrize(
    ("auth_kind", "credentials", "message"),
    [
        ("password", {}, "auth_kind must be one of"),
        ("bearer", {}, "needs an `access_token`"),
        ("api_token", {"email": "a@b.c"}, "needs both `email` and `api_token`"),
    ],
)
def test_register_connection_refuses_incomplete_credentials_and_stores_nothing(
    team_id: str, auth_kind: str, credentials: dict[str, str], message: str
) -> None:
    with pytest.raises(OnboardingRequestError, match=message):
        register_connection(team_id, "https://acme.atlassian.net", auth_kind, credentials)

    assert TeamStores(team_id).connection.get() is None


def test_register_connection_keeps_the_secret_out_of_the_table(team_id: str) -> None:
    register_connection(team_id, "https://acme.atlassian.net/", "bearer", {"access_token": "s3cr3t"})

    connection = TeamStores(team_id).connection.get()
    assert connection is not None and connection.site_url == "https://acme.atlassian.net"
    assert "s3cr3t" not in json.dumps(connection.model_dump(mode="json"))
