"""GET /jira/onboarding/{run_id} (GetSyncStatusFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from jira_onboarding.api.guards import current_team_id
from jira_onboarding.contracts import RunStatusResponse

router = Router()


@router.get("/jira/onboarding/<run_id>", summary="Per-project sync progress of an onboarding run")
def get_onboarding(run_id: Annotated[str, Path(max_length=80)]) -> RunStatusResponse:
    from jira_onboarding.logic.run.status import get_run_status  # lazy: cold starts

    return get_run_status(current_team_id(router), run_id)
