"""POST /jira/webhooks/{connection_id}, as the OpenAPI document describes it.

ReceiveJiraWebhookFunction serves it with a plain handler (functions/receive_jira_webhook/app.py,
logic/live/receive.py): the signature is over the body's raw bytes, and Jira, not the API's
clients, calls it. This router is only read by `resolver.build_openapi`; no function includes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from jira_onboarding.api.answers import HUB_SIGNATURE, WEBHOOK_JWT, contract
from jira_onboarding.contracts import WebhookAccepted

router = Router()

_DESCRIPTION = (
    "A Jira webhook delivery, answered at once and applied from a queue within seconds. No JWT "
    "authorizer (template.yaml: Authorizer NONE): each delivery authenticates itself, an admin "
    "webhook (API-token connection) by `X-Hub-Signature: sha256=<HMAC of the body with the secret "
    "the connection handed over>`, a dynamic webhook (OAuth) by `Authorization: Bearer <Jira's JWT, "
    "HS256 with the OAuth app's secret>` and a body naming the connection's webhook ids and site."
)


@router.post(
    "/jira/webhooks/<connection_id>",
    summary="Jira's webhook deliveries for one connection (signed; no JWT authorizer)",
    description=_DESCRIPTION,
    **contract(
        202,
        "Queued.",
        400,
        401,
        413,
        security=[{HUB_SIGNATURE: []}, {WEBHOOK_JWT: []}],
        meanings={
            400: "Authentic, but not a Jira event this API applies.",
            401: "Unknown connection, or the signature was not accepted (the same answer for both).",
            413: "A delivery is at most 1 MiB.",
        },
    ),
)
def post_jira_webhook(
    connection_id: Annotated[str, Path(description="The connection's webhook id (its live-updates URL).")],
    delivery: Annotated[dict[str, Any], Body(description="Jira's event, as Jira sends it.")],
) -> WebhookAccepted:
    raise NotImplementedError("served by functions/receive_jira_webhook/app.py")
