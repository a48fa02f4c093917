"""POST and DELETE /jira/connection (RegisterConnectionFunction): connect and disconnect Jira."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id, require_json_body
from jira_onboarding.contracts import ConnectionRequest, ConnectionResponse, DisconnectResponse
from jira_onboarding.oauth_contracts import (
    ConnectionStatus,
    OAuthAuthorizeRequest,
    OAuthAuthorizeResponse,
    OAuthConnectRequest,
    OAuthConnectResponse,
)

router = Router()


def _api_base_url() -> str:
    """This API's public base URL, from the request (Jira's webhooks and Atlassian's OAuth
    redirect are sent to it; WebhookBaseUrl overrides it)."""
    context = router.current_event.raw_event.get("requestContext") or {}
    stage = context.get("stage")
    return f"https://{context.get('domainName', '')}" + (
        "" if stage in ("$default", "", None) else f"/{stage}"
    )


@router.post(
    "/jira/connection",
    summary="Register the team's Jira site and credentials",
    **contract(201, "Connected; live updates as set up.", body=True),
)
def post_connection(request: Annotated[ConnectionRequest, Body()]) -> Response[ConnectionResponse]:
    require_json_body(router)
    from jira_onboarding.logic.connection.register import connect_jira  # lazy: httpx only here

    result = connect_jira(current_team_id(router), request, api_base_url=_api_base_url())
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result)


@router.delete(
    "/jira/connection",
    summary="Disconnect the team's Jira: delete its credentials, webhook and schedule, keep the synced data",
    **contract(
        200,
        "Disconnected; the message says what was removed and what is kept.",
        400,
        404,
        meanings={404: "The team has no Jira connection."},
    ),
)
def delete_connection(
    erase_personal_data: Annotated[
        bool,
        Query(description="Also delete the stored Jira accounts' names and emails (README: Personal data)."),
    ] = False,
) -> DisconnectResponse:
    from jira_onboarding.logic.connection.disconnect import disconnect_jira  # lazy: httpx only here

    return disconnect_jira(current_team_id(router), erase_personal_data=erase_personal_data)


@router.get(
    "/jira/connection",
    summary="The team's Jira connection: connected, to which site, or reconnect needed",
    **contract(200, "The connection's state."),
)
def get_connection() -> ConnectionStatus:
    from jira_onboarding.logic.connection.status import connection_status

    return connection_status(current_team_id(router))


@router.post(
    "/jira/oauth/authorize",
    summary="Start connecting Jira: Atlassian's consent URL for this team (single-use state, 10 minutes)",
    **contract(200, "Send the browser to authorize_url.", 503, body=True),
)
def post_oauth_authorize(request: Annotated[OAuthAuthorizeRequest, Body()]) -> OAuthAuthorizeResponse:
    require_json_body(router)
    from jira_onboarding.logic.connection.oauth import start_authorization

    return start_authorization(current_team_id(router), request.browser_nonce, _api_base_url())


@router.get(
    "/jira/oauth/callback",
    summary="Atlassian's redirect after consent (no JWT: the state authenticates), back to the page",
    description="Served without the JWT authorizer (template.yaml: Authorizer NONE): Atlassian sends the "
    "browser here, and the single-use `state` it carries authenticates the request. Every outcome is a "
    "302 to the page with one word, `?jira_oauth=granted|denied|expired|missing_scope|no_site|failed`.",
    **contract(
        302,
        "To the page, with `?jira_oauth=<outcome>`; never a token.",
        security=[],
        success_content={"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
        success_headers={
            "Location": {
                "description": "The page (AppUrl) with `?jira_oauth=<outcome>`.",
                "schema": {"type": "string", "format": "uri"},
            }
        },
    ),
)
def get_oauth_callback() -> Response[str]:
    from jira_onboarding.logic.connection.oauth import finish_callback

    params = router.current_event.query_string_parameters or {}
    location = finish_callback({k: str(v) for k, v in params.items()})
    return Response(
        status_code=302, content_type=content_types.TEXT_PLAIN, body="", headers={"Location": location}
    )


@router.post(
    "/jira/oauth/connect",
    summary="Connect the site the grant covers (or the one chosen among several) as the team's Jira",
    **contract(200, "connected, or choose_site with the sites the grant covers.", 409, body=True),
)
def post_oauth_connect(request: Annotated[OAuthConnectRequest, Body()]) -> OAuthConnectResponse:
    require_json_body(router)
    from jira_onboarding.logic.connection.oauth import connect_site

    return connect_site(current_team_id(router), request, api_base_url=_api_base_url())
