"""What every route checks before its logic runs: the caller's team, and a body we will parse."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

MAX_BODY_BYTES = 16 * 1024
NOT_JSON = "Send the body as JSON (Content-Type: application/json)."
# Our bodies are two levels deep. json.loads recurses per level: `[` x 100,000 was a RecursionError
# (a 500); anything deeper than this is refused before it is parsed.
MAX_JSON_DEPTH = 32
# A team id is a key prefix in every table and part of a secret's name (Secrets Manager allows
# letters, digits and /_+=.@-): a claim outside this is not one of our teams.
TEAM_ID = re.compile(r"[A-Za-z0-9._+=@-]{1,128}")


def current_team_id(router: BaseRouter) -> str:
    """The caller's team, from the claims the JWT authorizer verified: never from the request body."""
    event = cast("APIGatewayProxyEventV2", router.current_event)  # the HTTP API's payload 2.0
    claims = event.request_context.authorizer.jwt_claim or {}
    team_id = claims.get(get_settings().team_claim)
    if not team_id:
        raise OnboardingRequestError("The token names no team; sign in again.", status=403)
    if not isinstance(team_id, str) or not TEAM_ID.fullmatch(team_id):
        # Not quoted back: it can be kilobytes long.
        raise OnboardingRequestError(
            "The token's team claim is not a valid team id; sign in again.", status=403
        )
    logger.append_keys(team_id=team_id)
    return team_id


def _too_big(raw: str) -> bool:
    return len(raw) > MAX_BODY_BYTES or len(raw.encode()) > MAX_BODY_BYTES


def require_json_body(router: BaseRouter) -> None:
    """POST routes take JSON only, and not much of it."""
    content_type = (router.current_event.headers or {}).get("content-type", "application/json")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise OnboardingRequestError(NOT_JSON, status=415)
    if _too_big(router.current_event.body or ""):
        raise OnboardingRequestError(f"The request body is over {MAX_BODY_BYTES} bytes.", status=413)


def _nesting_depth(raw: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_json_body(raw: str) -> Any:
    """The resolver's JSON body parser (its `json_body_deserializer`): the request validation
    parses the body before any route runs, so the size and depth bounds are checked here."""
    if _too_big(raw):
        raise OnboardingRequestError(f"The request body is over {MAX_BODY_BYTES} bytes.", status=413)
    # Counting brackets is C speed; the exact scan only runs for a body with many of them.
    if raw.count("[") + raw.count("{") > MAX_JSON_DEPTH and _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise OnboardingRequestError(
            f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; send the documented JSON."
        )
    return json.loads(raw)
