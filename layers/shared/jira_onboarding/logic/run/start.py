"""Record a team's project selection and start the sync execution.

Posting the same selection twice (a double click, a client retry) returns the same run and starts
one execution: Powertools idempotency keyed on (team, selection), and an execution named after the
run, which Step Functions will not start twice. A different selection while a run is in progress
starts a new run for the new selection: projects in both are taken over by the new run (the old
run's steps see they no longer own them and stop), projects left out of it stop being tracked and
keep the data already synced.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jira_onboarding import aws
from jira_onboarding.contracts import StartOnboardingRequest, StartOnboardingResponse
from jira_onboarding.dal.idempotency import for_team, team_partitioned
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.run.ids import new_run_id, status_url
from jira_onboarding.observability import logger
from jira_onboarding.records import RunStatus
from jira_onboarding.settings import get_settings

# A repeated selection within this window is the same request (double clicks, client retries).
IDEMPOTENCY_WINDOW_S = 600
# The key of a selection: its team and its projects in any order (JMESPath's sort). The hashed
# value is the one the start hashed before it used idempotent_function: records written then
# still answer a repeat.
SELECTION_KEY = "{team_id: team_id, project_keys: sort(project_keys)}"

# The team whose request is being started: the idempotency table's partition key, as every table's.


def execution_arn(state_machine_arn: str, run_id: str) -> str:
    """The ARN Step Functions gives the execution named `run_id` of a standard state machine:
    arn:<partition>:states:<region>:<account>:execution:<state machine name>:<execution name>.
    Known before the start, so the run item is written once, with it."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{run_id}"


def launch_run(
    team_id: str,
    project_keys: list[str],
    *,
    trigger: str,
    start: bool = True,
    untrack_others: bool = False,
    require_connection: bool = False,
    run_id: str | None = None,
) -> tuple[str, str]:
    """Record a run over `project_keys` (PENDING) and start its execution; returns (run id, status).

    With `untrack_others` (a new selection), the team's projects left out stop being tracked; with
    `require_connection`, nothing is recorded for a team without a Jira connection. If the
    execution cannot be started (or `start` is False), the run is QUEUED, the projects stay PENDING
    and the nightly retry runs them: the caller never sees an error for a pipeline problem.
    `run_id` names the run instead of a new one (the nightly run's is deterministic).
    """
    settings = get_settings()
    repo = TeamStores(team_id)
    run_id = run_id or new_run_id(team_id, project_keys)
    logger.append_keys(run_id=run_id)
    machine_arn = settings.state_machine_arn
    expected_arn = execution_arn(machine_arn, run_id) if machine_arn and start else None
    repo.runs.record(
        run_id,
        project_keys,
        trigger=trigger,
        status=RunStatus.RUNNING if start else RunStatus.QUEUED,
        reason=None if start else "Queued for the nightly sync.",
        execution_arn=expected_arn,
        untrack_others=untrack_others,
        require_connection=require_connection,
    )
    if not start:
        return run_id, "PENDING"
    try:
        if not machine_arn:
            raise RuntimeError("STATE_MACHINE_ARN is not set")
        execution = aws.client("stepfunctions", settings.region).start_execution(
            stateMachineArn=machine_arn,
            name=run_id,
            input=json.dumps({"team_id": team_id, "run_id": run_id, "project_keys": project_keys}),
        )
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            # Step Functions refuses a second execution of one name: this run was started already.
            logger.info("The sync execution of this run exists already; not started twice")
            return run_id, RunStatus.RUNNING.value
        logger.exception("Could not start the sync execution; the nightly retry will run it")
        repo.runs.mark_queued(run_id, "The sync could not be started; it will run in the nightly batch.")
        return run_id, "PENDING"
    if execution["executionArn"] != expected_arn:
        # Not for this stack's standard state machine; an alias or express one is named otherwise.
        repo.runs.set_execution_arn(run_id, execution["executionArn"])
    return run_id, RunStatus.RUNNING.value


# How long the site's project list (GET /jira/projects, the page's list) vouches for its keys.
LISTING_MAX_AGE_S = 15 * 60


def _refuse_unknown_keys(team_id: str, keys: list[str]) -> None:
    """A 400 naming the keys the site does not have, before anything is written. Checked against
    the site's list as the page last loaded it (complete, within LISTING_MAX_AGE_S); without one,
    a key Jira does not know fails its own project's sync, and only that one."""
    repo = TeamStores(team_id)
    listed = repo.connection.listed_projects(time.time(), LISTING_MAX_AGE_S)
    if listed is None:
        return
    known = listed | {p.project_key for p in repo.projects.list_tracked()}
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise OnboardingRequestError(
            f"Your Jira site has no project {', '.join(unknown)}: nothing was changed. "
            "Choose among the site's projects (GET /jira/projects)."
        )


def _start(selection: dict[str, Any]) -> dict[str, Any]:
    # lazy: Powertools' feature flags import boto3 (AppConfig), which the nightly function does not need
    from jira_onboarding.feature_flags import pipeline_enabled

    team_id: str = selection["team_id"]
    keys: list[str] = selection["project_keys"]
    _refuse_unknown_keys(team_id, keys)
    enabled = pipeline_enabled(team_id)
    run_id, status = launch_run(
        team_id, keys, trigger="selection", start=enabled, untrack_others=True, require_connection=True
    )
    from jira_onboarding.logic.live.registration import request_registration_sync  # lazy: cold starts

    request_registration_sync(team_id)  # the dynamic webhook follows the selection
    logger.info(
        "Jira project selection recorded", extra={"project_keys": keys, "status": status, "pipeline": enabled}
    )
    return StartOnboardingResponse(
        run_id=run_id, status_url=status_url(run_id), project_keys=keys, status=status
    ).model_dump()


def start_onboarding(
    team_id: str, request: StartOnboardingRequest, *, lambda_context: Any = None
) -> StartOnboardingResponse:
    """Track the selected projects as PENDING and start the execution named after the run."""
    settings = get_settings()
    start, config = team_partitioned(
        _start,
        data_keyword_argument="selection",
        event_key_jmespath=SELECTION_KEY,
        expires_after_seconds=IDEMPOTENCY_WINDOW_S,
        table_name=settings.tables.idempotency,
        client=aws.client("dynamodb", settings.region),
    )
    with for_team(team_id, lambda_context, config):
        result = start(selection={"team_id": team_id, "project_keys": request.project_keys})
    return StartOnboardingResponse.model_validate(result)
