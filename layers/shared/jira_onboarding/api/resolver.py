"""The resolver each HTTP function builds from its router(s): validation, error answers, OpenAPI."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import ValidationError as PydanticValidationError

from jira_onboarding.api.guards import NOT_JSON, read_json_body
from jira_onboarding.errors import OnboardingRequestError

# What a 400 quotes of the problems Powertools' validation reports: a field name is the caller's
# input too (an unknown field of 10 KB), and pydantic's messages quote nothing of the values, ours
# at most a few dozen characters (contracts.quoted).
MAX_PROBLEM_CHARS = 300
MAX_WHERE_CHARS = 60
MAX_PROBLEMS = 10


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _request_error(exc: OnboardingRequestError) -> Response[str]:
    return _json(exc.status, {"message": exc.message})


def _unreadable_body(exc: ValueError) -> Response[str]:
    # Powertools raises a bare ValueError for a body it cannot even parse (e.g. multipart without
    # a boundary) before any route runs. Anything else is a bug: let it surface as a 500.
    if isinstance(exc, PydanticValidationError) or "multipart" not in str(exc):
        raise exc
    return _json(
        400, {"message": "The request body could not be read; send JSON (Content-Type: application/json)."}
    )


def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
    # Powertools refuses a body that is neither JSON nor a form before the route's own check
    # (guards.require_json_body) runs, with its `{statusCode, detail}`: the same answer as that check.
    return _json(415, {"message": NOT_JSON})


def _validation_error(exc: RequestValidationError) -> Response[str]:
    problems = []
    for error in exc.errors()[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        where = where if len(where) <= MAX_WHERE_CHARS else where[:MAX_WHERE_CHARS] + "..."
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")[:MAX_PROBLEM_CHARS]
        problems.append(f"{where}: {message}" if where else message)
    return _json(400, {"message": "The request is not valid: " + "; ".join(problems), "problems": problems})


def build_resolver(*routers: Router) -> APIGatewayHttpResolver:
    """A resolver serving exactly the routes of `routers`, with the API's error answers."""
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=read_json_body)
    app.exception_handler(OnboardingRequestError)(_request_error)
    app.exception_handler(ValueError)(_unreadable_body)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_content_type)
    for router in routers:
        app.include_router(router)
    return app


def all_routers() -> list[Router]:
    """Every API function's router, in the order the document lists them (and the webhook's, which
    only the document reads: api/jira_webhooks.py)."""
    from jira_onboarding.api import (
        get_metrics,
        get_sync_status,
        jira_webhooks,
        list_jira_projects,
        member_matches,
        register_connection,
        start_onboarding,
    )

    return [
        start_onboarding.router,
        get_sync_status.router,
        register_connection.router,
        get_metrics.router,
        list_jira_projects.router,
        member_matches.router,
        jira_webhooks.router,
    ]


# Powertools documents a 422 `{detail}` on every route when validation is on; this API answers a
# failed validation with a 400 `ErrorResponse` instead (_validation_error), which each route's
# `answers.contract` documents. Its schemas go with it.
_UNSENT_RESPONSES = ("422",)
_UNSENT_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _without_unsent_answers(document: dict[str, Any]) -> dict[str, Any]:
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for code in _UNSENT_RESPONSES:
                operation.get("responses", {}).pop(code, None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _UNSENT_SCHEMAS:
        schemas.pop(name, None)
    return document


def build_openapi() -> str:
    """The OpenAPI document of the whole API (every function's routes, and Jira's webhook route)."""
    # lazy: the OpenAPI document models cost ~250 ms of import that no request needs
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, HTTPBearer

    from jira_onboarding.api.answers import HUB_SIGNATURE, TEAM_JWT, WEBHOOK_JWT

    routers = all_routers()
    # include_router points each router at the resolver that includes it: point them back after,
    # so a function's resolver built earlier in this process keeps its routers.
    owners = [router.api_resolver for router in routers]
    try:
        app = build_resolver(*routers)
        document = app.get_openapi_json_schema(
            title="Jira onboarding API",
            version="1.0.0",
            description="Select Jira projects, follow their sync, read Jira metrics and insights. "
            "Every route needs a JWT whose verified team claim names the caller's team, except "
            "GET /jira/oauth/callback (Atlassian's redirect: the single-use state authenticates) "
            "and POST /jira/webhooks/{connection_id} (Jira's deliveries: each is signed). Every "
            "error answer is an ErrorResponse.",
            security_schemes={
                TEAM_JWT: HTTPBearer(
                    bearerFormat="JWT",
                    description="The HTTP API's JWT authorizer; its team claim names the team.",
                ),
                HUB_SIGNATURE: APIKey.model_validate(
                    {
                        "in": "header",
                        "name": "X-Hub-Signature",
                        "description": "An admin webhook's delivery: sha256=<hex HMAC-SHA256 of the raw "
                        "body>, keyed with the secret the connection handed over.",
                    }
                ),
                WEBHOOK_JWT: HTTPBearer(
                    bearerFormat="JWT",
                    description="A dynamic webhook's delivery: Jira's JWT (HS256, the OAuth app's secret).",
                ),
            },
            security=[{TEAM_JWT: []}],
        )
    finally:
        for router, owner in zip(routers, owners, strict=True):
            router.api_resolver = owner
    return json.dumps(_without_unsent_answers(json.loads(document)))
