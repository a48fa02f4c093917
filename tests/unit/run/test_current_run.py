"""GET /jira/onboarding: the team's current run, else its last one; a 404 before any."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest
from jira_onboarding.contracts import RunStatusName, SyncStatusName
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.run.ids import new_run_id
from jira_onboarding.logic.run.status import get_current_run
from jira_onboarding.records import RunStatus, SyncStatus


def test_current_run_is_the_newest_run_with_its_status_url(team_id: str) -> None:
    runs = TeamStores(team_id).runs
    first = new_run_id(team_id, ["ALPHA"])
    runs.record(first, ["ALPHA"])
    runs.finish(first, RunStatus.COMPLETE, at=datetime.now(UTC))
    second = new_run_id(team_id, ["ALPHA", "BETA"])
    runs.record(second, ["ALPHA", "BETA"])

    current = get_current_run(team_id)

    assert (current.run_id, current.status, current.done) == (second, "RUNNING", False)
    assert current.status_url == f"/jira/onboarding/{second}" and current.project_keys == ["ALPHA", "BETA"]


def test_current_run_is_not_found_before_the_team_starts_one(team_id: str) -> None:
    with pytest.raises(OnboardingRequestError) as raised:
        get_current_run(team_id)

    assert raised.value.status == 404


def test_status_enums_of_the_contract_are_the_records_statuses() -> None:
    assert list(get_args(SyncStatusName)) == [s.value for s in SyncStatus]
    assert list(get_args(RunStatusName)) == [s.value for s in RunStatus]
