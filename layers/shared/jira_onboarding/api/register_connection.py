"""POST and DELETE /jira/connection (RegisterConnectionFunction): connect and disconnect Jira."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from jira_onboarding.api.guards import current_team_id, require_json_body
from jira_onboarding.contracts import ConnectionRequest, ConnectionResponse, DisconnectResponse

router = Router()
# Every 4xx of the API is `{"message": "<a sentence>"}` (api/resolver.py).
_MESSAGE_SCHEMA: dict = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def _api_base_url() -> str:
    """This API's public base URL, from the request (Jira's webhooks are sent to it)."""
    context = router.current_event.raw_event.get("requestContext") or {}
    stage = context.get("stage")
    return f"https://{context.get('domainName', '')}" + (
        "" if stage in ("$default", "", None) else f"/{stage}"
    )


@router.post("/jira/connection", summary="Register the team's Jira site and credentials", responses={201: {}})
def post_connection(request: Annotated[ConnectionRequest, Body()]) -> Response[ConnectionResponse]:
    require_json_body(router)
    from jira_onboarding.logic.connection.register import connect_jira  # lazy: httpx only here

    result = connect_jira(current_team_id(router), request, api_base_url=_api_base_url())
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result)


@router.delete(
    "/jira/connection",
    summary="Disconnect the team's Jira: delete its credentials, webhook and schedule, keep the synced data",
    responses={
        200: {"description": "Disconnected; the message says what was removed and what is kept."},
        404: {
            "description": "The team has no Jira connection.",
            "content": {"application/json": {"schema": _MESSAGE_SCHEMA}},
        },
    },
)
def delete_connection(
    erase_personal_data: Annotated[
        bool,
        Query(description="Also delete the stored Jira accounts' names and emails (README: Personal data)."),
    ] = False,
) -> DisconnectResponse:
    from jira_onboarding.logic.connection.disconnect import disconnect_jira  # lazy: httpx only here

    return disconnect_jira(current_team_id(router), erase_personal_data=erase_personal_data)
