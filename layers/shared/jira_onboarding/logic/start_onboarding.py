"""Record a team's project selection and start the sync execution.

Posting the same selection twice (a double click, a client retry) returns the same run and starts
one execution: Powertools idempotency keyed on (team, selection), and an execution named after the
run, which Step Functions will not start twice. A different selection while a run is in progress
starts a new run for the new selection: projects in both are taken over by the new run (the old
run's steps see they no longer own them and stop), projects left out of it stop being tracked and
keep the data already synced.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jira_onboarding import aws
from jira_onboarding.contracts import StartOnboardingRequest, StartOnboardingResponse
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.run_ids import new_run_id
from jira_onboarding.observability import logger
from jira_onboarding.records import RunStatus
from jira_onboarding.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

# A repeated selection within this window is the same request (double clicks, client retries).
IDEMPOTENCY_WINDOW_S = 600


@lru_cache(maxsize=4)
def _idempotency_store_template(table_name: str, client: Any) -> DynamoDBPersistenceLayer:
    # Built once per execution environment: each DynamoDBPersistenceLayer registers a User-Agent
    # hook on its client, so one per request piled up a hook per request on the shared
    # client, and every later DynamoDB call ran them all (a warm container slowed down for life).
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="team_id",
        static_pk_value="unset",
        sort_key_attr="idempotency_key",
        boto3_client=client,
    )


def _idempotency_store(team_id: str) -> DynamoDBPersistenceLayer:
    """A persistence layer for one request, whose partition key is the team."""
    settings = get_settings()
    template = _idempotency_store_template(
        settings.tables.idempotency, aws.client("dynamodb", settings.region)
    )
    store = copy.copy(template)
    store.static_pk_value = team_id  # the team is the partition key here too
    return store


def status_url(run_id: str) -> str:
    return f"/jira/onboarding/{run_id}"


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
) -> tuple[str, str]:
    """Record a run over `project_keys` (PENDING) and start its execution; returns (run id, status).

    With `untrack_others` (a new selection), the team's projects left out stop being tracked; with
    `require_connection`, nothing is recorded for a team without a Jira connection. If the
    execution cannot be started (or `start` is False), the run is QUEUED, the projects stay PENDING
    and the nightly retry runs them: the caller never sees an error for a pipeline problem.
    """
    settings = get_settings()
    repo = TeamStores(team_id)
    run_id = new_run_id(team_id, project_keys)
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
    except Exception:
        logger.exception("Could not start the sync execution; the nightly retry will run it")
        repo.runs.mark_queued(run_id, "The sync could not be started; it will run in the nightly batch.")
        return run_id, "PENDING"
    if execution["executionArn"] != expected_arn:
        # Not for this stack's standard state machine; an alias or express one is named otherwise.
        repo.runs.set_execution_arn(run_id, execution["executionArn"])
    return run_id, RunStatus.RUNNING.value


def _start(team_id: str, selection: dict[str, Any]) -> dict[str, Any]:
    # lazy: Powertools' feature flags import boto3 (AppConfig), which the nightly function does not need
    from jira_onboarding.feature_flags import pipeline_enabled

    keys: list[str] = selection["project_keys"]
    enabled = pipeline_enabled(team_id)
    run_id, status = launch_run(
        team_id, keys, trigger="selection", start=enabled, untrack_others=True, require_connection=True
    )
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
    # lazy: the nightly function imports this module for `launch_run` only
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler

    persistence = _idempotency_store(team_id)
    config = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_WINDOW_S)
    if lambda_context is not None:
        # An invocation that dies mid-start frees its in-progress record when its time runs out.
        config.register_lambda_context(lambda_context)
    selection = {"project_keys": sorted(request.project_keys)}
    result = IdempotencyHandler(
        function=_start,
        function_payload={"team_id": team_id, **selection},
        config=config,
        persistence_store=persistence,
        function_args=(team_id, {"project_keys": request.project_keys}),
        function_kwargs={},
    ).handle()
    return StartOnboardingResponse.model_validate(result)
