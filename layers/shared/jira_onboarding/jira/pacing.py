"""The client's one hook for a rate budget shared beyond this process (see `jira_onboarding.budget`)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class Pacer(Protocol):
    """Called around every request the client sends, retries included."""

    def before(self, method: str, path: str) -> None:
        """Wait for this request's slot; raise `JiraThrottledError` when the wait belongs to the
        state machine (a paused site, a backlog longer than the Lambda can wait)."""

    def after(self, response: httpx.Response, payload: Any = None) -> None:
        """Learn from the answer (its rate-limit headers, its points cost); `payload` is the
        decoded body of a successful answer."""

    def close(self) -> None:
        """The client is done: give back what it reserved and did not use."""
