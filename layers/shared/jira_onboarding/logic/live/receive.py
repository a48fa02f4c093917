"""Receive one Jira webhook delivery: authenticate it, check size and shape, queue it, answer at once.

No Jira call and no sync work here: Jira waits for the answer and retries on 408/409/425/429/5xx and
timeouts. A delivery whose connection is unknown, whose signature is missing or wrong, or (for a
dynamic webhook, whose JWT any customer's delivery carries) whose body is not bound to this
connection (logic/live/binding.py) gets the same 401, and nothing is queued or written. The receiver
writes nothing at all: a delivery seen before (`X-Atlassian-Webhook-Identifier`, the same on every
retry) is queued again and the consumer's idempotency, keyed by that identifier, applies it once
(a marker written here too would be the same dedupe twice, and a third of the receiver's latency).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import time
from typing import Any

from jira_onboarding.credentials import stored_credentials
from jira_onboarding.dal.live import LiveStore, WebhookEndpoint, get_endpoint
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraAuthError
from jira_onboarding.logic.live import queue
from jira_onboarding.logic.live.auth import verify_bearer_jwt, verify_hub_signature
from jira_onboarding.logic.live.binding import binding_problem, connection_origins
from jira_onboarding.logic.live.events import LiveMessage, shape_problem
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import JiraConnection

# Jira's deliveries are a few KiB to a few hundred; anything over this is not one of them.
MAX_WEBHOOK_BYTES = 1024 * 1024
CONNECTION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Unknown connections are checked against this secret, so they cost what a known one does.
_DECOY_SECRET = secrets.token_urlsafe(32)


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


UNAUTHORIZED = {"message": "The delivery's signature was not accepted."}


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The body's bytes as Jira sent them: API Gateway base64-encodes bodies it does not treat as
    text, and the signature is over the raw bytes."""
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (ValueError, binascii.Error):
            return None
    return str(body).encode("utf-8")


def _signing_secret(endpoint: WebhookEndpoint, connection: JiraConnection | None) -> str | None:
    """The admin webhook's secret, or the OAuth app's client secret, from the connection's
    sealed credentials."""
    secret = stored_credentials(endpoint.team_id, connection) if connection else None
    if secret is None:
        return None
    name = "client_secret" if endpoint.auth_kind == "oauth" else "webhook_secret"
    value = secret.get(name)
    if endpoint.auth_kind == "oauth" and not value:
        # The one app's: every connection made through it (a connection from before the one
        # app keeps its own app's secret in its credentials until it reconnects).
        from jira_onboarding.logic.jira_access.oauth_app import app_credentials

        try:
            value = app_credentials().client_secret
        except JiraAuthError:
            return None
    return value if isinstance(value, str) and value else None


def _parsed(raw: bytes | None) -> object:
    """The body as JSON, or None. Read only once the signature holds: before, anyone's megabyte
    would be parsed (and a deeply nested one raises RecursionError, not ValueError)."""
    try:
        return json.loads(raw or b"")
    except (ValueError, RecursionError):
        return None


def _unbound(endpoint: WebhookEndpoint, connection: JiraConnection, raw: bytes) -> str | None:
    """Why a JWT-signed delivery is not this connection's (None if it is): the JWT's secret is the
    app's, shared by every customer, so the body must name our webhook ids and the team's site."""
    parsed = _parsed(raw)
    registered = LiveStore(endpoint.team_id).registered_webhook_ids()
    # An OAuth connection's own site URL (as accessible-resources named it), and the API gateway's
    # base for its cloud id.
    origins = connection_origins(connection.site_web_url or connection.site_url, cloud_id=connection.cloud_id)
    return binding_problem(parsed, registered, origins)


def _refusal(endpoint: WebhookEndpoint | None, raw: bytes, headers: dict[str, str]) -> str | None:
    """None if the delivery is authentic for the endpoint; else why not (for the log only)."""
    if endpoint is None:
        verify_hub_signature(_DECOY_SECRET, raw, headers.get("x-hub-signature"))
        return "unknown connection"
    connection = TeamStores(endpoint.team_id).connection.get()
    secret = _signing_secret(endpoint, connection)
    if secret is None or connection is None:
        verify_hub_signature(_DECOY_SECRET, raw, headers.get("x-hub-signature"))
        return "no signing secret stored"
    if endpoint.auth_kind == "oauth":
        return verify_bearer_jwt(secret, headers.get("authorization")) or _unbound(endpoint, connection, raw)
    if not verify_hub_signature(secret, raw, headers.get("x-hub-signature")):
        return "bad or missing X-Hub-Signature"
    return None


def receive_webhook(event: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway (HTTP API, payload 2.0) answer to one delivery."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = _raw_body(event)
    if raw is not None and len(raw) > MAX_WEBHOOK_BYTES:
        return _answer(413, {"message": f"A webhook delivery is at most {MAX_WEBHOOK_BYTES} bytes."})
    connection_id = str((event.get("pathParameters") or {}).get("connection_id") or "")
    endpoint = get_endpoint(connection_id) if CONNECTION_ID.match(connection_id) else None
    reason = _refusal(endpoint, raw or b"", headers) if raw is not None else "unreadable body"
    if reason is not None or endpoint is None:
        logger.warning("Webhook delivery refused", extra={"reason": reason})
        metrics.add_metric(name="WebhookDeliveriesRefused", unit=MetricUnit.Count, value=1)
        return _answer(401, UNAUTHORIZED)
    logger.append_keys(team_id=endpoint.team_id)
    parsed = _parsed(raw)
    problem = shape_problem(parsed)
    if problem is not None:
        return _answer(400, {"message": problem})
    delivery_id = headers.get("x-atlassian-webhook-identifier") or hashlib.sha256(raw or b"").hexdigest()
    message = LiveMessage(
        team_id=endpoint.team_id, delivery_id=delivery_id, received_at=time.time(), event=parsed
    )
    queue.send(message)  # not queued: the error is a 500, and Jira retries it
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=1)
    return _answer(202, {"accepted": True})
