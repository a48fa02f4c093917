"""What each route documents: its success, the error answers it can give, and how it is authenticated.

Every route declares its own with `contract(...)`, next to the code that raises them, so the
OpenAPI document (resolver.build_openapi) lists the answers the API really sends: `ErrorResponse`
(`{message, problems?}`, api/resolver.py) for each, never Powertools' 422 `{detail}`, which this
API does not send. tests/integration/test_openapi_contract.py holds every answer the suite sees to
the document.
"""

from __future__ import annotations

from typing import Any

from jira_onboarding.contracts import ErrorResponse

# The security schemes of the document (resolver.build_openapi names them).
TEAM_JWT = "teamJwt"
HUB_SIGNATURE = "jiraHubSignature"
WEBHOOK_JWT = "jiraWebhookJwt"

# What each error status means, wherever it is answered.
MEANING: dict[int, str] = {
    400: "The request is not valid: `message` says what to fix; a failed validation of the body, "
    "query or path also lists each problem in `problems`.",
    401: 'No valid JWT: API Gateway\'s JWT authorizer answers `{"message": "Unauthorized"}` before '
    "the function runs.",
    403: "The token's verified claims name no valid team: sign in again.",
    404: "Not found for this team (another team's reads exactly like a missing one).",
    409: "The team's state does not allow it now: not connected, reconnect needed, or an "
    "authorization already used or expired; `message` says what to do.",
    413: "The request body is over 16 KiB.",
    415: "The body is not JSON (Content-Type: application/json).",
    429: 'API Gateway\'s throttling: `{"message": "Too Many Requests"}`; retry later.',
    502: "Jira did not answer as it should; `message` says what it said.",
    503: "This deployment is not set up for it yet (its OAuth app); `message` says so.",
}
# Answered on every route that takes a JSON body, before the route's logic runs (api/guards.py).
BODY_ERRORS = (400, 413, 415)
# Answered on every JWT route by API Gateway or the team guard (api/guards.current_team_id).
JWT_ERRORS = (401, 403)
GATEWAY_ERRORS = (429,)


def _error(meaning: str) -> dict[str, Any]:
    return {"description": meaning, "content": {"application/json": {"model": ErrorResponse}}}


def contract(
    success: int,
    description: str,
    *errors: int,
    body: bool = False,
    security: list[dict[str, list[str]]] | None = None,
    meanings: dict[int, str] | None = None,
    success_content: dict[str, Any] | None = None,
    success_headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `responses=` and `security=` of a route (`@router.get(..., **contract(...))`).

    `errors`: the statuses the route's logic answers; `body`: it takes a JSON body; `security`:
    None for the team's JWT (adds 401 and 403), or the route's own (an empty list: none). The
    success schema is the route's return annotation unless `success_content` says otherwise.
    """
    jwt = security is None
    codes = {*errors, *GATEWAY_ERRORS, *(BODY_ERRORS if body else ()), *(JWT_ERRORS if jwt else ())}
    ok: dict[str, Any] = {"description": description}
    if success_content is not None:
        ok["content"] = success_content
    if success_headers is not None:
        ok["headers"] = success_headers
    responses: dict[int, Any] = {success: ok}
    for code in sorted(codes):
        responses[code] = _error((meanings or {}).get(code, MEANING[code]))
    if jwt:  # the document's default (resolver.build_openapi)
        return {"responses": responses}
    # As an extension, not `security=`: Powertools checks a route's `security` against the schemes
    # of the resolver it is in, and a function's resolver declares none (their models cost ~250 ms
    # of cold start). An empty list is a route without any.
    return {"responses": responses, "openapi_extensions": {"security": security}}
