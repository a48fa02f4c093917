"""Starting a selection (logic/run/start.py) on moto: the idempotency table of template.yaml
and a state machine that records its executions (nothing runs). What the API answers, what is
stored, and that a repeated selection starts one execution; the routes are the integration
suite's (test_start_and_status_api.py)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from jira_onboarding import aws
from jira_onboarding.contracts import StartOnboardingRequest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import NotConnectedError
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.run.start import execution_arn, launch_run, start_onboarding, status_url
from jira_onboarding.records import RunStatus, SyncStatus

from tests.conftest import SIM_EMAIL, SIM_TOKEN

# Powertools warns that it cannot tell the time left when no Lambda context is registered: these
# calls have none (one test gives one).
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")


@pytest.fixture
def connected(team_id: str) -> str:
    register_connection(
        team_id, "https://acme.atlassian.net", "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN}
    )
    return team_id


def _executions(machine_arn: str) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions", region_name="us-east-1").list_executions(
        stateMachineArn=machine_arn
    )["executions"]


def _select(team_id: str, keys: list[str], **kwargs: Any):
    return start_onboarding(team_id, StartOnboardingRequest(project_keys=keys), **kwargs)


def test_start_onboarding_tracks_the_selection_and_starts_its_execution(
    connected: str, state_machine: str
) -> None:
    answer = _select(connected, ["ALPHA", "BETA"])

    assert answer.status == "RUNNING" and answer.project_keys == ["ALPHA", "BETA"]
    assert answer.status_url == status_url(answer.run_id) == f"/jira/onboarding/{answer.run_id}"
    stores = TeamStores(connected)
    run = stores.runs.get(answer.run_id)
    assert run is not None and run.status == RunStatus.RUNNING and run.trigger == "selection"
    assert run.execution_arn == execution_arn(state_machine, answer.run_id)
    assert {p.project_key: p.sync_status for p in stores.projects.list_tracked()} == {
        "ALPHA": SyncStatus.PENDING,
        "BETA": SyncStatus.PENDING,
    }
    [execution] = _executions(state_machine)
    assert execution["name"] == answer.run_id
    started = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(started["input"]) == {
        "team_id": connected,
        "run_id": answer.run_id,
        "project_keys": ["ALPHA", "BETA"],
    }


def test_start_onboarding_twice_with_the_same_selection_answers_the_same_run_and_starts_once(
    connected: str, state_machine: str
) -> None:
    first = _select(connected, ["ALPHA", "BETA"])
    again = _select(connected, ["BETA", "ALPHA"])  # the same selection in another order

    assert again.run_id == first.run_id and again.status == first.status
    assert len(_executions(state_machine)) == 1
    latest = TeamStores(connected).runs.latest()
    assert latest is not None and latest.run_id == first.run_id


def test_start_onboarding_of_a_new_selection_takes_over_and_untracks_the_projects_left_out(
    connected: str, state_machine: str
) -> None:
    first = _select(connected, ["ALPHA", "BETA"])

    second = _select(connected, ["BETA", "GAMMA"])

    assert second.run_id != first.run_id and len(_executions(state_machine)) == 2
    tracked = {p.project_key: p for p in TeamStores(connected).projects.list_tracked()}
    assert tracked["BETA"].run_id == tracked["GAMMA"].run_id == second.run_id
    assert tracked["ALPHA"].selected is False  # kept, with its data, but no longer tracked


def test_start_onboarding_keeps_teams_apart_when_they_select_the_same_projects(
    connected: str, state_machine: str
) -> None:
    other = f"{connected}-b"
    register_connection(other, "https://beta.atlassian.net", "bearer", {"access_token": "t"})

    mine, theirs = _select(connected, ["ALPHA"]), _select(other, ["ALPHA"])

    assert mine.run_id != theirs.run_id and len(_executions(state_machine)) == 2
    assert TeamStores(other).runs.get(mine.run_id) is None


def test_start_onboarding_without_a_connection_answers_409_and_records_nothing(
    team_id: str, state_machine: str
) -> None:
    with pytest.raises(NotConnectedError) as refused:
        _select(team_id, ["ALPHA"])

    assert refused.value.status == 409 and "no Jira connection yet" in refused.value.message
    assert TeamStores(team_id).runs.latest() is None and _executions(state_machine) == []


def test_start_onboarding_when_the_pipeline_flag_is_off_queues_the_run_for_the_night(
    connected: str, state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURE_FLAGS", json.dumps({"jira_onboarding_pipeline": {"default": False}}))

    answer = _select(connected, ["ALPHA"])

    run = TeamStores(connected).runs.get(answer.run_id)
    assert answer.status == "PENDING" and run is not None and run.status == RunStatus.QUEUED
    assert run.reason == "Queued for the nightly sync." and _executions(state_machine) == []


class _Context:
    """The part of a Lambda context the idempotency utility reads."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_start_onboarding_with_a_lambda_context_answers_as_without(
    connected: str, state_machine: str
) -> None:
    answer = _select(connected, ["OPS"], lambda_context=_Context())

    assert answer.status == "RUNNING" and len(_executions(state_machine)) == 1


def test_launch_run_of_a_run_whose_execution_exists_already_starts_nothing_twice(
    team_id: str, state_machine: str
) -> None:
    launch_run(team_id, ["ALPHA"], trigger="selection", run_id="run-fixed")

    # Step Functions answers a same-named start of the same input as the first; of another, it refuses
    again_id, status = launch_run(team_id, ["ALPHA", "BETA"], trigger="nightly", run_id="run-fixed")

    assert (again_id, status) == ("run-fixed", "RUNNING") and len(_executions(state_machine)) == 1
    run = TeamStores(team_id).runs.get("run-fixed")
    assert run is not None and run.status == RunStatus.RUNNING


class _AliasStepFunctions:
    """A Step Functions that names its executions otherwise (an alias or an express machine)."""

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:express:other:{kwargs['name']}:1"}


def test_launch_run_stores_the_arn_step_functions_gave_when_it_is_not_the_expected_one(
    team_id: str, state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws, "client", lambda service, region=None: _AliasStepFunctions())

    run_id, status = launch_run(team_id, ["ALPHA"], trigger="selection")

    run = TeamStores(team_id).runs.get(run_id)
    assert status == "RUNNING" and run is not None
    assert run.execution_arn == f"arn:aws:states:us-east-1:123456789012:express:other:{run_id}:1"


def test_a_selection_naming_a_key_the_site_does_not_have_is_a_400_and_changes_nothing(
    connected: str, state_machine: str
) -> None:
    import time

    from jira_onboarding.errors import OnboardingRequestError

    first = _select(connected, ["ALPHA", "BETA"])
    store = TeamStores(connected).connection
    store.record_listed_projects(["ALPHA"], first_page=True, last_page=False, now=time.time())
    store.record_listed_projects(["BETA", "GAMMA"], first_page=False, last_page=True, now=time.time())

    with pytest.raises(OnboardingRequestError) as refused:
        _select(connected, ["GAMMA", "NOPE"])

    assert (
        refused.value.status == 400
        and "NOPE" in refused.value.message
        and "GAMMA" not in refused.value.message
    )
    tracked = {p.project_key: p for p in TeamStores(connected).projects.list_tracked()}
    assert {k for k, p in tracked.items() if p.selected} == {"ALPHA", "BETA"}, "the earlier selection stands"
    assert all(p.run_id == first.run_id for p in tracked.values()) and len(_executions(state_machine)) == 1
    assert _select(connected, ["GAMMA"]).project_keys == ["GAMMA"]  # a listed key goes through


def test_without_a_complete_recent_listing_the_keys_are_not_judged(
    connected: str, state_machine: str
) -> None:
    import time

    store = TeamStores(connected).connection
    store.record_listed_projects(["ALPHA"], first_page=True, last_page=False, now=time.time())  # page 1 only
    assert _select(connected, ["ZETA"]).status  # not refused: its own sync will say "not in Jira"
    store.record_listed_projects(["ALPHA"], first_page=True, last_page=True, now=time.time() - 3600)
    assert _select(connected, ["OMEGA"]).status  # listed an hour ago: too old to vouch
