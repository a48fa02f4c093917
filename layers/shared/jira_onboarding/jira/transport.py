"""One Jira call on the wire: a total deadline and a body cap, whatever the server does.

httpx's timeouts are per read: a server that drips one byte a second never trips them. The body is
therefore streamed and the deadline checked between chunks, and reading stops at the body cap (a
page of 60,000 issues where 100 were asked for would otherwise be read whole into memory).
"""

from __future__ import annotations

import time

import httpx

from jira_onboarding.errors import JiraOversizedResponseError, JiraTimeoutError

# The most a Jira answer may weigh: a bulk changelog of 1,000 issues is a few megabytes.
MAX_BODY_BYTES = 32 * 1024 * 1024
# The most one call may take, answer included (each read also has the client's own timeout).
REQUEST_DEADLINE_S = 60.0
# An error answer is read only this far: Jira's own error bodies are a few hundred bytes.
MAX_ERROR_BODY_BYTES = 64 * 1024


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def fetch(
    http: httpx.Client,
    request: httpx.Request,
    *,
    what: str,
    deadline_s: float,
    max_body_bytes: int,
) -> tuple[httpx.Response, bytes]:
    """Send `request` and read its body within `deadline_s` and `max_body_bytes` (less for an error
    answer: its start is enough). Raises JiraTimeoutError past the deadline and
    JiraOversizedResponseError past the cap; httpx's own transport errors propagate."""
    deadline = time.monotonic() + deadline_s
    response = http.send(request, stream=True)
    try:
        cap = max_body_bytes if response.is_success else MAX_ERROR_BODY_BYTES
        declared = _declared_length(response)
        if response.is_success and declared is not None and declared > cap:
            raise JiraOversizedResponseError(
                f"Jira's answer for {what} is {declared} bytes, more than the {cap} the sync reads."
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                if not response.is_success:
                    chunks.append(chunk[: cap - (size - len(chunk))])
                    break
                raise JiraOversizedResponseError(
                    f"Jira's answer for {what} is over {cap} bytes, more than the sync reads."
                )
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise JiraTimeoutError(
                    f"Jira took more than {int(deadline_s)} seconds to send its answer for {what}."
                )
        return response, b"".join(chunks)
    finally:
        response.close()
