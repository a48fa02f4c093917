"""Exceptions that form the contract with the state machine.

Step Functions sees a Lambda's unhandled exception class name as the error name, so the ASL
`Retry`/`Catch` blocks name these classes. `tests/infrastructure/test_statemachine_contract.py`
proves every `ErrorEquals` name is defined here (or is a States.*/Lambda.* name).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

# An error's message becomes the Lambda's error and crosses into the state machine: Step Functions
# refuses a payload over 256 KB with an uncatchable States.DataLimitExceeded (the run would stay
# RUNNING), so every message that leaves a step is bounded well below it.
MAX_ERROR_MESSAGE = 2000


class DynamoDBThrottledError(Exception):
    """DynamoDB kept refusing writes for capacity (throttled, or items left unprocessed) past the
    in-Lambda backoff: transient. The state machine retries the step with backoff and full jitter;
    a replayed step's writes are idempotent, so the project never ends FAILED for it."""


class JiraError(Exception):
    """Base of every Jira problem; `reason` is a sentence a person can act on."""

    transient = False

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        if len(reason) > MAX_ERROR_MESSAGE:
            reason = reason[: MAX_ERROR_MESSAGE - 1] + "…"
        super().__init__(reason)
        self.reason = reason
        self.status = status


class JiraAuthError(JiraError):
    """401: the credentials were refused (wrong email/token, expired OAuth token)."""


class GrantRevokedError(JiraAuthError):
    """Atlassian will not refresh this OAuth grant again (revoked, the user left, 90 days idle):
    the team must reconnect Jira. Recorded on the connection; no call is made until then."""


class JiraPermissionError(JiraError):
    """403: the credentials are valid but cannot see this resource."""


class JiraNotFoundError(JiraError):
    """404 (or Jira's 400 for an unknown project in JQL): the project or site does not exist."""


class JiraBadRequestError(JiraError):
    """400 that is not about a missing project: the request itself is wrong."""


class JiraGoneError(JiraError):
    """410: Jira removed the endpoint (e.g. the old /rest/api/3/search)."""


class JiraThrottledError(JiraError):
    """429 with a short wait: retried by the state machine's Retry block. `held` when no request
    went out: the site's budget held the call back (the site or endpoint is paused, or booked
    ahead), which is another client's throttle or our own pacing, not Jira's answer to this one."""

    transient = True

    def __init__(
        self, reason: str, *, retry_after: float | None = None, status: int | None = 429, held: bool = False
    ) -> None:
        super().__init__(reason, status=None if held else status)
        self.retry_after = retry_after
        self.held = held


class JiraRateLimitExhaustedError(JiraError):
    """Jira kept a project throttled past the run's patience: FAILED now, retried tonight."""


class JiraServerError(JiraError):
    """5xx from Jira: transient, retried."""

    transient = True


class JiraTimeoutError(JiraError):
    """Connect/read timeout or a dropped connection: transient, retried."""

    transient = True


class JiraMalformedResponseError(JiraError):
    """A 2xx whose body is not the JSON Jira documents (truncated, wrong shape): retried, then FAILED."""

    transient = True


class JiraPagingError(JiraError):
    """Jira's paging did not end: a repeated or cycling cursor, or more pages, items or time than
    any real answer needs. Retrying now would page the same way: not transient."""


class JiraOversizedResponseError(JiraError):
    """An answer larger than the client accepts (body bytes, or more issues than a page asked for)."""


class JiraUnreachableError(JiraError):
    """The site cannot be reached at all (DNS, refused): a wrong URL, not a transient blip."""


# Jira refusing one project for good (no access, gone, a query it rejects): retrying now cannot help.
PROJECT_REFUSED = (JiraPermissionError, JiraNotFoundError, JiraGoneError, JiraBadRequestError)


class OnboardingRequestError(Exception):
    """A request the API rejects with a 4xx; `message` tells the caller what to fix."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotConnectedError(OnboardingRequestError):
    """The team has not registered a Jira connection yet."""

    def __init__(self, team_id: str) -> None:
        super().__init__(
            "This team has no Jira connection yet: register one (site URL and credentials) first.",
            status=409,
        )
        self.team_id = team_id


def transient_error_names() -> list[str]:
    """The Jira errors worth retrying in place (`transient` set), in the order they are defined: the
    client retries them inline, and every Jira `Retry` of the state machine names exactly these
    (tests/infrastructure/test_statemachine_contract.py derives the list from here and compares)."""
    found: list[type[JiraError]] = []
    pending: list[type[JiraError]] = [JiraError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls.__name__ for cls in found if cls.transient and cls is not JiraError]


class ReconnectNeededError(OnboardingRequestError):
    """The team's OAuth grant is gone (revoked, the user left, 90 days idle): nothing syncs until
    someone on the team reconnects."""

    def __init__(self) -> None:
        super().__init__(
            "Jira no longer accepts this team's connection (it was revoked or expired): "
            "press Reconnect Jira, then select the projects again; the synced data is kept.",
            status=409,
        )


class StepFailedError(Exception):
    """An unexpected failure whose own message was too long to cross into the state machine."""


F = TypeVar("F", bound=Callable[..., Any])


def bounded_errors(handler: F) -> F:
    """Re-raise any exception whose message is over MAX_ERROR_MESSAGE as a StepFailedError with a
    bounded message, so every failure of a state machine task stays catchable."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            message = str(exc)
            if len(message) <= MAX_ERROR_MESSAGE:
                raise
            short = f"{exc.__class__.__name__}: {message[: MAX_ERROR_MESSAGE - 200]}…"
            raise StepFailedError(short) from None

    return wrapper  # type: ignore[return-value]
