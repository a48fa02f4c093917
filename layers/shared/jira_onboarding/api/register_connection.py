"""POST /jira/connection (RegisterConnectionFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from jira_onboarding.api.guards import current_team_id, require_json_body
from jira_onboarding.contracts import ConnectionRequest, ConnectionResponse

router = Router()


@router.post("/jira/connection", summary="Register the team's Jira site and credentials", responses={201: {}})
def post_connection(request: Annotated[ConnectionRequest, Body()]) -> Response[ConnectionResponse]:
    require_json_body(router)
    from jira_onboarding.logic.connections import connect_jira  # lazy: httpx only here

    result = connect_jira(current_team_id(router), request)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result)
