"""The HTTP API: routes, validation and error answers, shared by the API functions.

Each route imports its logic when called, so a function pays at cold start only for its own route
(the start function never imports httpx, metrics or insights).

Each API function resolves its own route through this one resolver, so the OpenAPI document
generated from it (`build_openapi`) describes the whole API.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import ValidationError as PydanticValidationError

from jira_onboarding.contracts import (
    ConnectionRequest,
    ConnectionResponse,
    InsightsResponse,
    MetricsResponse,
    RunStatusResponse,
    StartOnboardingRequest,
    StartOnboardingResponse,
)
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

MAX_BODY_BYTES = 16 * 1024

app = APIGatewayHttpResolver(enable_validation=True)


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def current_team_id() -> str:
    """The caller's team, from the claims the JWT authorizer verified: never from the request body."""
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    team_id = claims.get(get_settings().team_claim)
    if not team_id:
        raise OnboardingRequestError("The token names no team; sign in again.", status=403)
    logger.append_keys(team_id=team_id)
    return str(team_id)


@app.exception_handler(OnboardingRequestError)
def _request_error(exc: OnboardingRequestError) -> Response[str]:
    return _json(exc.status, {"message": exc.message})


@app.exception_handler(ValueError)
def _unreadable_body(exc: ValueError) -> Response[str]:
    # Powertools raises a bare ValueError for a body it cannot even parse (e.g. multipart without
    # a boundary) before any route runs. Anything else is a bug: let it surface as a 500.
    if isinstance(exc, PydanticValidationError) or "multipart" not in str(exc):
        raise exc
    return _json(
        400, {"message": "The request body could not be read; send JSON (Content-Type: application/json)."}
    )


def require_json_body() -> None:
    """POST routes take JSON only, and not much of it."""
    content_type = (app.current_event.headers or {}).get("content-type", "application/json")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise OnboardingRequestError("Send the body as JSON (Content-Type: application/json).", status=415)
    raw = app.current_event.body or ""
    if len(raw.encode()) > MAX_BODY_BYTES:
        raise OnboardingRequestError(f"The request body is over {MAX_BODY_BYTES} bytes.", status=413)


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return _json(400, {"message": "The request is not valid: " + "; ".join(problems), "problems": problems})


@app.post("/jira/onboarding", summary="Select Jira projects and start syncing them", responses={202: {}})
def post_onboarding(request: Annotated[StartOnboardingRequest, Body()]) -> Response[StartOnboardingResponse]:
    require_json_body()
    from jira_onboarding.logic.start_onboarding import start_onboarding  # lazy: cold starts

    result: StartOnboardingResponse = start_onboarding(
        current_team_id(), request, lambda_context=app.lambda_context
    )
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=result)


@app.get("/jira/onboarding/<run_id>", summary="Per-project sync progress of an onboarding run")
def get_onboarding(run_id: Annotated[str, Path(max_length=80)]) -> RunStatusResponse:
    from jira_onboarding.logic.status import get_run_status  # lazy: cold starts

    return get_run_status(current_team_id(), run_id)


def _api_base_url() -> str:
    """This API's public base URL, from the request (Jira's webhooks are sent to it)."""
    context = app.current_event.request_context
    stage = context.stage
    return f"https://{context.domain_name}" + ("" if stage in ("$default", "", None) else f"/{stage}")


@app.post("/jira/connection", summary="Register the team's Jira site and credentials", responses={201: {}})
def post_connection(request: Annotated[ConnectionRequest, Body()]) -> Response[ConnectionResponse]:
    require_json_body()
    from jira_onboarding.logic.connections import connect_jira  # lazy: httpx only here

    result = connect_jira(current_team_id(), request, api_base_url=_api_base_url())
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result)


@app.get("/jira/metrics", summary="The team's latest Jira sprint metrics and PR linkage, with their basis")
def get_jira_metrics() -> MetricsResponse:
    from jira_onboarding.logic.compute_metrics import latest_metrics  # lazy: cold starts

    return latest_metrics(current_team_id())


@app.get("/jira/insights", summary="The team's latest insights, best first")
def get_jira_insights() -> InsightsResponse:
    from jira_onboarding.logic.compute_metrics import latest_insights  # lazy: cold starts

    return latest_insights(current_team_id())


def build_openapi() -> str:
    # lazy: the OpenAPI document models cost ~250 ms of import that no request needs
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title="Jira onboarding API",
        version="1.0.0",
        description="Select Jira projects, follow their sync, read Jira metrics and insights. "
        "Every route needs a JWT whose verified team claim names the caller's team.",
        security_schemes={"teamJwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"teamJwt": []}],
    )
