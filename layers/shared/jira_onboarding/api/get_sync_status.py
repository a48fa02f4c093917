"""GET /jira/onboarding and GET /jira/onboarding/{run_id} (GetSyncStatusFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id
from jira_onboarding.contracts import CurrentRunResponse, RunStatusResponse

router = Router()


@router.get(
    "/jira/onboarding/<run_id>",
    summary="Per-project sync progress of an onboarding run",
    **contract(200, "The run's progress.", 400, 404, meanings={404: "The team has no run of this id."}),
)
def get_onboarding(run_id: Annotated[str, Path(max_length=80)]) -> RunStatusResponse:
    from jira_onboarding.logic.run.status import get_run_status  # lazy: cold starts

    return get_run_status(current_team_id(router), run_id)


# The collection's GET (beside POST /jira/onboarding, which starts a run) rather than
# /jira/onboarding/latest: that path would read as the run id "latest" of the route above.
@router.get(
    "/jira/onboarding",
    summary="The team's current run, else its last one: its id, status and status_url",
    **contract(200, "The newest run.", 404, meanings={404: "The team has started no run yet."}),
)
def get_current_onboarding() -> CurrentRunResponse:
    from jira_onboarding.logic.run.status import get_current_run  # lazy: cold starts

    return get_current_run(current_team_id(router))
