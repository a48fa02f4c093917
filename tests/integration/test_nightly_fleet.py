"""The nightly fan-out at fleet scale: many teams, one EventBridge Scheduler schedule each.

`make test` runs 300 teams (every 100th refused: the head, the middle and the tail of the sorted
ids); issue 18's figure is `FLEET_TEAMS=2000 .venv/bin/python -m pytest
tests/integration/test_nightly_fleet.py` (about 5 minutes alone, linear in the teams: each team is
its own schedule and invocation, so 300 exercise every path 2,000 do).

The executions are recorded by Step Functions (moto) without being run: what is under test is
what starts them, once per team and night, wherever the team sorts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from jira_onboarding.dal.tables import JiraConnectionItem, TrackedProjectItem, bind_tables, put_items
from jira_onboarding.logic.jira_access.tokens import seal_for
from jira_onboarding.logic.nightly.retry import nightly_run_id
from jira_onboarding.logic.nightly.schedules import ensure_nightly_schedule

from local_harness.stack import LocalStack

TEAMS = int(os.environ.get("FLEET_TEAMS", "300"))
NIGHT = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _teams() -> list[str]:
    return [f"team-{i:05d}" for i in range(TEAMS)]


@pytest.fixture
def fleet() -> Iterator[LocalStack]:
    """TEAMS connected teams, each with its nightly schedule and one COMPLETE project. The items
    are written in batches (setting up is not under test); each schedule is the real one."""
    with LocalStack(execute_executions=False, dynamodb_process=True) as stack:
        teams = _teams()
        bind_tables()
        put_items(
            [
                JiraConnectionItem(
                    team,
                    site_url=f"https://{team}.atlassian.net",
                    auth_kind="api_token",
                    credentials_envelope=seal_for(team, {"email": "a@b.c", "api_token": "t"}),
                )
                for team in teams
            ]
        )
        synced = datetime.now(UTC) - timedelta(days=1)
        put_items(
            [
                TrackedProjectItem(team, "ALPHA", sync_status="COMPLETE", selected=True, updated_at=synced)
                for team in teams
            ]
        )
        for team in teams:
            assert ensure_nightly_schedule(team)
        yield stack


def _executions(stack: LocalStack) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    pages = client.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return [execution for page in pages for execution in page["executions"]]


def _fire(stack: LocalStack, night: datetime, failing: int = 0) -> list[tuple[str, Any, str | None]]:
    fired = stack.fire_schedules(night.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [error for _, _, error in fired if error] == ["NightlyStartError"] * failing
    return fired


def _retry_attempts() -> int:
    """The retries Scheduler makes of a failed invocation (the schedules' RetryPolicy)."""
    from jira_onboarding.logic.nightly.schedules import RETRY_POLICY

    return int(RETRY_POLICY["MaximumRetryAttempts"])


def _refuse_starts_of(names: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Step Functions refuses these executions (its running-executions quota, say)."""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.models import StepFunctionBackend

    original = StepFunctionBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: str, execution_input: str) -> Any:
        if name in names:
            raise JsonRESTError(
                "ExecutionLimitExceeded", "The maximum number of running executions has been reached."
            )
        return original(self, state_machine_arn, name, execution_input)

    monkeypatch.setattr(StepFunctionBackend, "start_execution", start_execution)


@pytest.mark.slow
def test_nightly_starts_every_team_once_refuses_repeats_and_retries_failed_starts_next_night(
    fleet: LocalStack, monkeypatch: pytest.MonkeyPatch
):
    # Given TEAMS connected teams, each with its own schedule, and Step Functions refusing the
    # starts of every 100th team tonight (the tail of the sorted ids included)
    teams = _teams()
    refused = {team for i, team in enumerate(teams) if i % 100 == 99}
    _refuse_starts_of({nightly_run_id(team, NIGHT) for team in refused}, monkeypatch)

    # When tonight's schedules fire (a refused start fails its invocation: Scheduler retries it)
    assert len(_fire(fleet, NIGHT, failing=len(refused))) == TEAMS

    # Then every other team was started exactly once, under its night's run id
    names = [e["name"] for e in _executions(fleet)]
    assert len(names) == len(set(names)) == TEAMS - len(refused)
    assert set(names) == {nightly_run_id(team, NIGHT) for team in teams if team not in refused}
    # and no invocation came near its timeout: each handles one team (a third of it, for a
    # machine shared with other work; unloaded they take tens of milliseconds)
    nightly = [i for i in fleet.invocations if i.function == "NightlyRetryFunction"]
    timeout_s = fleet.model.resources["NightlyRetryFunction"]["Properties"]["Timeout"]
    retries = len(refused) * _retry_attempts()
    assert len(nightly) == TEAMS + retries
    assert max(i.seconds for i in nightly) < timeout_s / 3

    # When the schedules fire again the same night (a retry, a duplicate delivery)
    again = _fire(fleet, NIGHT, failing=len(refused))

    # Then nothing more was started (the refused teams' starts fail again)
    assert len(_executions(fleet)) == TEAMS - len(refused)
    assert all(result["runs"] == {} for _, result, error in again if error is None)

    # When the next night comes, Step Functions accepting everything again
    monkeypatch.undo()
    next_night = NIGHT + timedelta(days=1)
    _fire(fleet, next_night)

    # Then the teams refused last night are started; the others are still running last night's run
    started = {e["name"] for e in _executions(fleet)} - set(names)
    assert started == {nightly_run_id(team, next_night) for team in refused}
