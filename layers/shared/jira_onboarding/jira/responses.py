"""From Jira's HTTP answers to our exceptions: the one table from status to error, with Jira's own
text kept short and scrubbed of credentials, and `Retry-After` read defensively."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

import httpx
from pydantic_core import from_json

from jira_onboarding.errors import (
    JiraAuthError,
    JiraBadRequestError,
    JiraError,
    JiraGoneError,
    JiraNotFoundError,
    JiraPermissionError,
    JiraServerError,
    JiraThrottledError,
)
from jira_onboarding.redact import MAX_JIRA_TEXT, scrub

# A Retry-After is a hint: below this it is waited as this (0, negative and NaN mean "soon", and
# each cycle through the state machine costs seconds whatever the header says) ...
MIN_RETRY_AFTER_S = 1.0
# ... and above this it is clamped: Jira's quota refills hourly, so no real answer asks for more.
MAX_RETRY_AFTER_S = 3600.0
# Only the start of an error body is read for its message: Jira's own are a few hundred bytes.
_ERROR_BODY_PREFIX = 64 * 1024

RATE_LIMIT_REASON = "RateLimit-Reason"  # the header
# Jira's `RateLimit-Reason` values (rate limiting, 2026): which limit a 429 comes from.
BURST = "jira-burst-based"  # one endpoint's token bucket: slow that endpoint
TENANT_QUOTA = "jira-quota-tenant-based"  # the site's hourly points: pause the site until the reset
GLOBAL_QUOTA = "jira-quota-global-based"  # the app's shared pool: pause all of the app's OAuth traffic
PER_ISSUE_WRITE = "jira-per-issue-on-write"


def _messages(body: object) -> list[str]:
    if not isinstance(body, dict):
        return []
    raw = body.get("errorMessages")
    messages = [str(m) for m in raw[:5]] if isinstance(raw, list) else []
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{k}: {v}" for k, v in list(errors.items())[:5]]
    if not messages and body.get("message"):
        messages.append(str(body["message"]))
    return messages


def jira_text(content: bytes, secrets: Iterable[str | None] = ()) -> str:
    """Jira's own error text, short and scrubbed: safe for a reason, a log line or an answer."""
    content = content[:_ERROR_BODY_PREFIX]
    try:
        messages = _messages(from_json(content, allow_partial=True))
    except ValueError:
        messages = []
    text = "; ".join(messages) if messages else content.decode("utf-8", "replace")
    return scrub(text, secrets, limit=MAX_JIRA_TEXT)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header, clamped to [MIN, MAX]; None when absent or unreadable.
    (An HTTP date is not read: Jira sends seconds.)"""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if math.isnan(seconds):
        return MIN_RETRY_AFTER_S
    return min(MAX_RETRY_AFTER_S, max(MIN_RETRY_AFTER_S, seconds))


def header_number(value: str | None) -> float | None:
    """A numeric header (`X-RateLimit-Remaining`); None when absent or unreadable."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def reset_epoch(value: str | None) -> float | None:
    """`X-RateLimit-Reset` (ISO 8601) as epoch seconds; None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def error_for_response(
    response: httpx.Response,
    *,
    what: str,
    secrets: Iterable[str | None] = (),
    content: bytes | None = None,
) -> JiraError:
    """The one place an HTTP status becomes an exception; `what` names the resource for the reason.
    The reason is our sentence with Jira's status; Jira's text, if any, is short and scrubbed."""
    status = response.status_code
    detail = jira_text(response.content if content is None else content, secrets)
    note = f" ({detail})" if detail else ""
    if status == 401:
        return JiraAuthError(
            f"Jira refused the credentials (401{': ' + detail if detail else ''}).", status=status
        )
    if status == 403:
        return JiraPermissionError(f"These Jira credentials have no access to {what}{note}.", status=status)
    if status == 404:
        return JiraNotFoundError(f"Jira could not find {what}{note}.", status=status)
    if status == 400 and "does not exist for the field 'project'" in detail:
        return JiraNotFoundError(f"Jira could not find {what}{note}.", status=status)
    if status == 410:
        return JiraGoneError(f"Jira removed this endpoint ({detail or 'gone'}).", status=status)
    if status == 429:
        reason = scrub(response.headers.get(RATE_LIMIT_REASON, "rate limited"), secrets, limit=80)
        return JiraThrottledError(
            f"Jira is rate limiting these calls ({reason}).",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 500:
        return JiraServerError(f"Jira answered {status} for {what}.", status=status)
    return JiraBadRequestError(
        f"Jira rejected the request for {what} ({status}{': ' + detail if detail else ''}).", status=status
    )
