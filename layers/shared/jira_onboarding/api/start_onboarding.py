"""POST /jira/onboarding (StartOnboardingFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id, require_json_body
from jira_onboarding.contracts import StartOnboardingRequest, StartOnboardingResponse

router = Router()


@router.post(
    "/jira/onboarding",
    summary="Select Jira projects and start syncing them",
    **contract(202, "The run is recorded; poll its status_url.", 409, body=True),
)
def post_onboarding(request: Annotated[StartOnboardingRequest, Body()]) -> Response[StartOnboardingResponse]:
    require_json_body(router)
    from jira_onboarding.logic.run.start import start_onboarding  # lazy: cold starts

    result: StartOnboardingResponse = start_onboarding(
        current_team_id(router), request, lambda_context=router.lambda_context
    )
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=result)
