"""A small Jira Cloud client over an injected `httpx.Client`.

One table maps HTTP statuses to exceptions; pages come from generators; short waits (`Retry-After`
up to `max_inline_wait_s`, transient 5xx/timeouts) are retried here with jittered exponential
backoff, only for idempotent calls; anything longer is raised as `JiraThrottledError` so the state
machine waits instead of a Lambda.
"""

from __future__ import annotations

import functools
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic_core import from_json

from jira_onboarding.errors import (
    JiraAuthError,
    JiraError,
    JiraMalformedResponseError,
    JiraOversizedResponseError,
    JiraThrottledError,
    JiraTimeoutError,
    JiraUnreachableError,
)
from jira_onboarding.jira import transport
from jira_onboarding.jira.agile import AgileEndpoints
from jira_onboarding.jira.credentials import JiraCredentials
from jira_onboarding.jira.models import (
    JiraField,
    JiraUser,
    SearchPage,
)
from jira_onboarding.jira.pacing import Pacer
from jira_onboarding.jira.paging import (
    DEFAULT_LIMITS,
    PagingLimits,
    TokenPage,
    iter_array_pages,
    iter_token_pages,
)
from jira_onboarding.jira.projects import ProjectEndpoints
from jira_onboarding.jira.responses import error_for_response
from jira_onboarding.observability import trace_httpx
from jira_onboarding.redact import scrub

__all__ = ["JiraClient", "JiraCredentials", "error_for_response"]

USER_PAGE_SIZE = 1000  # the documented maximum of /rest/api/3/users/search
# Documented limits of POST /rest/api/3/changelog/bulkfetch.
BULK_CHANGELOG_MAX_ISSUES = 1000
BULK_CHANGELOG_MAX_FIELDS = 10
BULK_CHANGELOG_PAGE_SIZE = 10000  # the documented maximum: one call per 1,000 issues usually suffices
# An approximate count is a hint for progress and planning. Above this it is absurd (Jira Cloud
# sites hold a few million issues at most) and read as unknown, like a negative or non-number.
MAX_PLAUSIBLE_COUNT = 50_000_000
# Jira Cloud sites hold at most 150,000 users (Enterprise): a user list past that never ends.
USER_LIMITS = PagingLimits(max_pages=200, max_items=200_000)
CHANGELOG_LIMITS = PagingLimits(max_pages=1_000, max_items=1_000_000)

trace_httpx()


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default verified TLS context, built once per process (and per CA setting, which httpx
    reads from SSL_CERT_FILE / SSL_CERT_DIR): building one loads the CA bundle, tens of
    milliseconds on every invocation that opens a client."""
    return httpx.create_ssl_context()


class JiraClient(AgileEndpoints, ProjectEndpoints):
    """Jira Cloud REST v3 + Agile 1.0. Thread-compatible; one instance per invocation."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        max_attempts: int = 4,
        backoff_base_s: float = 2.0,
        max_inline_wait_s: float = 5.0,
        time_left_s: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        on_unauthorized: Callable[[], str | None] | None = None,
        secrets: tuple[str, ...] = (),
        request_deadline_s: float = transport.REQUEST_DEADLINE_S,
        max_body_bytes: int = transport.MAX_BODY_BYTES,
        paging_limits: PagingLimits = DEFAULT_LIMITS,
        pacer: Pacer | None = None,
    ) -> None:
        self._http = http
        self._pacer = pacer  # the site's shared budget: paces every request, learns from every answer
        # Called once on a 401: returns a fresh Authorization header (an OAuth refresh) or None.
        self._on_unauthorized = on_unauthorized
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._max_inline_wait_s = max_inline_wait_s
        self._time_left_s = time_left_s or (lambda: float("inf"))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._secrets = set(secrets) | {str(http.headers.get("Authorization") or "")}
        self._request_deadline_s = request_deadline_s
        self._max_body_bytes = max_body_bytes
        # Caps every loop's own limits (tests and small Lambdas lower them).
        self._paging_limits = paging_limits
        self.calls = 0
        self._calls_lock = threading.Lock()  # a step may share one client across threads (the planner)

    @classmethod
    def connect(
        cls,
        credentials: JiraCredentials,
        *,
        timeout_s: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        **kwargs: Any,
    ) -> JiraClient:
        http = httpx.Client(
            base_url=credentials.base_url.rstrip("/"),
            headers={
                "Authorization": credentials.authorization_header(),
                "Accept": "application/json",
                "User-Agent": "jira-onboarding/0.1",
            },
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            transport=transport,
            verify=_tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
        )
        return cls(http, secrets=credentials.secrets(), **kwargs)

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.close()
        self._http.close()

    def scrub(self, text: object, *, limit: int | None = 300) -> str:
        """`text` without any credential this client holds: for reasons and log lines."""
        return scrub(text, self._secrets, limit=limit)

    def _limits(self, own: PagingLimits) -> PagingLimits:
        cap = self._paging_limits
        return PagingLimits(
            max_pages=min(own.max_pages, cap.max_pages),
            max_items=min(own.max_items, cap.max_items),
            max_seconds=min(own.max_seconds, cap.max_seconds),
        )

    # ---- transport -------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        # Atlassian's advice: exponential from ~2 s with 0.7-1.3 jitter.
        return self._backoff_base_s * (2**attempt) * self._rng.uniform(0.7, 1.3)

    def _wait_or_raise(self, wait_s: float, error: JiraError) -> None:
        if wait_s > self._max_inline_wait_s or wait_s > self._time_left_s() - 1.0:
            if isinstance(error, JiraThrottledError) and error.retry_after is None:
                error.retry_after = wait_s
            raise error
        self._sleep(wait_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool = True,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> Any:
        """Send one call, retrying transient failures with backoff; return the decoded JSON.
        A 401 refreshes the credentials once (when the client can) and tries again."""
        try:
            return self._request(
                method, path, what=what, idempotent=idempotent, params=params, json_body=json_body
            )
        except JiraAuthError:
            header = self._on_unauthorized() if self._on_unauthorized else None
            if not header:
                raise
            self._secrets.add(header)
            self._http.headers["Authorization"] = header
            return self._request(
                method, path, what=what, idempotent=idempotent, params=params, json_body=json_body
            )

    def _send_once(self, request: httpx.Request, what: str) -> tuple[httpx.Response, bytes]:
        deadline = min(self._request_deadline_s, max(1.0, self._time_left_s() - 1.0))
        try:
            return transport.fetch(
                self._http, request, what=what, deadline_s=deadline, max_body_bytes=self._max_body_bytes
            )
        except httpx.TimeoutException as exc:
            raise JiraTimeoutError(f"Jira did not answer in time for {what}.") from exc
        except httpx.ConnectError as exc:
            raise JiraUnreachableError(
                f"Cannot reach Jira at {self._http.base_url} ({exc.__class__.__name__}: {self.scrub(exc)})."
            ) from exc
        except httpx.TransportError as exc:
            raise JiraTimeoutError(f"The connection to Jira broke while fetching {what}.") from exc

    def _attempt(self, request: httpx.Request, what: str) -> Any:
        """One call: the decoded JSON, or the JiraError it came to."""
        if self._pacer is not None:
            self._pacer.before(request.method, request.url.path)
        with self._calls_lock:
            self.calls += 1
        response, content = self._send_once(request, what)
        if response.status_code == 204:  # No Content (the personal data report: nothing to do)
            if self._pacer is not None:
                self._pacer.after(response)
            return None
        if response.is_success:
            try:
                # pydantic's JSON parser: a bulk changelog of 1,000 issues is megabytes (every
                # history carries its author), and json.loads took ~5 times as long.
                payload = from_json(content)
            except ValueError as exc:
                raise JiraMalformedResponseError(
                    f"Jira sent a body that is not valid JSON for {what}."
                ) from exc
            if self._pacer is not None:
                self._pacer.after(response, payload)
            return payload
        if self._pacer is not None:
            self._pacer.after(response)
        raise error_for_response(response, what=what, secrets=self._secrets, content=content)

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        params: dict[str, Any] | None,
        json_body: dict[str, Any] | None,
    ) -> Any:
        attempts = self._max_attempts if idempotent else 1
        for attempt in range(attempts):
            request = self._http.build_request(method, path, params=params, json=json_body)
            try:
                return self._attempt(request, what)
            except JiraError as error:
                if not error.transient or attempt == attempts - 1:
                    raise
                wait = self._backoff(attempt)
                if isinstance(error, JiraThrottledError) and error.retry_after is not None:
                    # Retry-After is the minimum wait; a long one (quota) goes to the state machine.
                    wait = max(wait, error.retry_after)
                self._wait_or_raise(wait, error)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- platform API ----------------------------------------------------------------------
    def myself(self) -> JiraUser:
        body = self.request("GET", "/rest/api/3/myself", what="the current user")
        if not isinstance(body, dict):
            raise JiraMalformedResponseError("Jira's answer for the current user was not an object.")
        return JiraUser.model_validate(body)

    def iter_user_pages(self, page_size: int = USER_PAGE_SIZE) -> Iterator[list[JiraUser]]:
        """All users, page by page. The endpoint answers a bare array and has no `isLast`:
        stop at an empty page, not at a short one. Entries that are not users are skipped."""
        pages = iter_array_pages(
            lambda start: self.request(
                "GET",
                "/rest/api/3/users/search",
                what="the user list",
                params={"startAt": start, "maxResults": page_size},
            ),
            what="the user list",
            limits=self._limits(USER_LIMITS),
        )
        for body in pages:
            yield [user for item in body if (user := JiraUser.from_payload(item)) is not None]

    def fields(self) -> list[JiraField]:
        body = self.request("GET", "/rest/api/3/field", what="the field list")
        if not isinstance(body, list):
            raise JiraMalformedResponseError("Jira's field list was not a JSON array.")
        return [field for item in body if (field := JiraField.from_payload(item)) is not None]

    def search_page(
        self,
        jql: str,
        *,
        fields: list[str],
        next_page_token: str | None = None,
        max_results: int = 100,
        what: str = "the issue search",
    ) -> SearchPage:
        """One page of the enhanced JQL search (`POST /rest/api/3/search/jql`)."""
        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": max_results}
        if next_page_token:
            body["nextPageToken"] = next_page_token
        # A search is a read: safe to repeat, so it gets the idempotent retries.
        payload = self.request("POST", "/rest/api/3/search/jql", what=what, json_body=body)
        if not isinstance(payload, dict) or not isinstance(payload.get("issues", []), list):
            raise JiraMalformedResponseError(f"Jira's search answer for {what} had no issue list.")
        page = SearchPage.from_payload(payload)
        if len(page.issues) > max_results:
            raise JiraOversizedResponseError(
                f"Jira sent {len(page.issues)} issues on one page of {what}, "
                f"where {max_results} were asked for."
            )
        return page

    def iter_search_pages(
        self,
        jql: str,
        *,
        fields: list[str],
        start: str | None = None,
        max_results: int = 100,
        what: str = "the issue search",
    ) -> Iterator[TokenPage[dict[str, Any]]]:
        """Every page of a search from the cursor `start` (None: the first page), guarded."""

        def fetch(token: str | None) -> TokenPage[dict[str, Any]]:
            page = self.search_page(
                jql, fields=fields, next_page_token=token, max_results=max_results, what=what
            )
            return TokenPage(page.issues, page.next_page_token, page.is_last)

        return iter_token_pages(fetch, what=what, start=start, limits=self._limits(DEFAULT_LIMITS))

    def approximate_count(self, jql: str, *, what: str = "the issue count") -> int | None:
        """Jira's estimate of how many issues `jql` matches; None when it is not a plausible count."""
        payload = self.request(
            "POST", "/rest/api/3/search/approximate-count", what=what, json_body={"jql": jql}
        )
        count = payload.get("count") if isinstance(payload, dict) else None
        if isinstance(count, bool) or not isinstance(count, int | float):
            return None
        if not 0 <= count <= MAX_PLAUSIBLE_COUNT:  # also false for NaN
            return None
        return int(count)

    # ---- changelogs --------------------------------------------------------------------------
    def bulk_changelog(
        self,
        issue_ids: list[str],
        field_ids: list[str],
        *,
        max_results: int = BULK_CHANGELOG_PAGE_SIZE,
    ) -> Iterator[Any]:
        """Every change of `field_ids` on `issue_ids`, page by page (`POST /rest/api/3/changelog/bulkfetch`).

        Yields the `issueChangeLogs` entries (`{"issueId", "changeHistories"}`) in Jira's order:
        by change date, oldest first. One issue may appear in several entries across pages."""
        if not 1 <= len(issue_ids) <= BULK_CHANGELOG_MAX_ISSUES:
            raise ValueError(
                f"bulk_changelog takes 1 to {BULK_CHANGELOG_MAX_ISSUES} issues, not {len(issue_ids)}"
            )
        if len(field_ids) > BULK_CHANGELOG_MAX_FIELDS:
            raise ValueError(f"bulk_changelog takes at most {BULK_CHANGELOG_MAX_FIELDS} field ids")
        body: dict[str, Any] = {"issueIdsOrKeys": list(issue_ids), "maxResults": max_results}
        if field_ids:
            body["fieldIds"] = list(field_ids)
        what = f"the changelogs of {len(issue_ids)} issues"

        def fetch(token: str | None) -> TokenPage[Any]:
            # A POST, but a read: safe to repeat, so it gets the idempotent retries.
            payload = self.request(
                "POST",
                "/rest/api/3/changelog/bulkfetch",
                what=what,
                json_body={**body, "nextPageToken": token} if token else body,
            )
            logs = payload.get("issueChangeLogs") if isinstance(payload, dict) else None
            if not isinstance(logs, list):
                raise JiraMalformedResponseError(f"Jira's answer for {what} had no issueChangeLogs.")
            token = payload.get("nextPageToken")
            return TokenPage(logs, token if isinstance(token, str) else None)

        for page in iter_token_pages(
            fetch, what=what, limits=self._limits(CHANGELOG_LIMITS), stop_on_empty=True
        ):
            yield from page.items
