"""Record a team's project selection and start the sync execution."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import boto3

from jira_onboarding.contracts import StartOnboardingRequest, StartOnboardingResponse
from jira_onboarding.dal.repository import Repository
from jira_onboarding.errors import NotConnectedError
from jira_onboarding.observability import logger
from jira_onboarding.records import RunStatus
from jira_onboarding.settings import get_settings


def new_run_id(now: datetime | None = None) -> str:
    """Time-ordered (newest sorts last) and valid as a Step Functions execution name."""
    now = now or datetime.now(UTC)
    return f"run-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def status_url(run_id: str) -> str:
    return f"/jira/onboarding/{run_id}"


def start_onboarding(team_id: str, request: StartOnboardingRequest) -> StartOnboardingResponse:
    """Track the selected projects as PENDING and start the execution named after the run.

    If the execution cannot be started, the projects stay PENDING and the nightly retry picks
    them up: the caller still gets its run id, never an error for a Jira or pipeline problem.
    """
    settings = get_settings()
    repo = Repository(team_id)
    if repo.get_connection() is None:
        raise NotConnectedError(team_id)
    if not settings.state_machine_arn:
        raise RuntimeError("STATE_MACHINE_ARN is not set for the start function")
    run_id = new_run_id()
    repo.create_run(run_id, request.project_keys)
    repo.track_projects(run_id, request.project_keys)
    logger.append_keys(run_id=run_id)
    try:
        execution = boto3.client("stepfunctions", region_name=settings.region).start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=run_id,
            input=json.dumps({"team_id": team_id, "run_id": run_id, "project_keys": request.project_keys}),
        )
    except Exception:
        logger.exception("Could not start the sync execution; the nightly retry will run it")
        repo.update_run(
            run_id,
            status=RunStatus.FAILED.value,
            reason="The sync could not be started; it will run in the nightly batch.",
        )
        status = "PENDING"
    else:
        repo.update_run(run_id, execution_arn=execution["executionArn"])
        status = RunStatus.RUNNING.value
    logger.info("Jira onboarding started", extra={"project_keys": request.project_keys, "status": status})
    return StartOnboardingResponse(
        run_id=run_id, status_url=status_url(run_id), project_keys=request.project_keys, status=status
    )
