"""A small Jira Cloud client over an injected `httpx.Client`.

One table maps HTTP statuses to exceptions; pages come from generators; short waits (`Retry-After`
up to `max_inline_wait_s`, transient 5xx/timeouts) are retried here with jittered exponential
backoff, only for idempotent calls; anything longer is raised as `JiraThrottledError` so the state
machine waits instead of a Lambda.
"""

from __future__ import annotations

import base64
import functools
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic_core import from_json

from jira_onboarding.errors import (
    JiraAuthError,
    JiraBadRequestError,
    JiraError,
    JiraGoneError,
    JiraMalformedResponseError,
    JiraNotFoundError,
    JiraPermissionError,
    JiraServerError,
    JiraThrottledError,
    JiraTimeoutError,
    JiraUnreachableError,
)
from jira_onboarding.jira.models import (
    JiraBoard,
    JiraField,
    JiraSprint,
    JiraUser,
    SearchPage,
)
from jira_onboarding.jira.pacing import Pacer
from jira_onboarding.observability import trace_httpx

USER_PAGE_SIZE = 1000  # the documented maximum of /rest/api/3/users/search
AGILE_PAGE_SIZE = 50
# Documented limits of POST /rest/api/3/changelog/bulkfetch.
BULK_CHANGELOG_MAX_ISSUES = 1000
BULK_CHANGELOG_MAX_FIELDS = 10
BULK_CHANGELOG_PAGE_SIZE = 10000  # the documented maximum: one call per 1,000 issues usually suffices

trace_httpx()


@dataclass(frozen=True)
class JiraCredentials:
    """How to reach one Jira site: `api_token` (Basic email:token) or `bearer` (OAuth access token)."""

    base_url: str
    auth_kind: str
    email: str | None = None
    api_token: str | None = None
    access_token: str | None = None

    def authorization_header(self) -> str:
        if self.auth_kind == "api_token":
            raw = f"{self.email}:{self.api_token}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.auth_kind in {"bearer", "oauth"}:
            return f"Bearer {self.access_token}"
        raise ValueError(f"unknown Jira auth kind {self.auth_kind!r}")


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        messages = list(body.get("errorMessages") or [])
        messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if messages:
            return "; ".join(str(m) for m in messages)
        if body.get("message"):
            return str(body["message"])
    return response.text[:200].strip()


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for_response(response: httpx.Response, *, what: str) -> JiraError:
    """The one place an HTTP status becomes an exception; `what` names the resource for the reason."""
    status = response.status_code
    detail = _error_message(response)
    if status == 401:
        return JiraAuthError(f"Jira refused the credentials ({detail or 'unauthorized'}).", status=status)
    if status == 403:
        return JiraPermissionError(
            f"These Jira credentials have no access to {what}{f' ({detail})' if detail else ''}.",
            status=status,
        )
    if status == 404:
        return JiraNotFoundError(
            f"Jira could not find {what}{f' ({detail})' if detail else ''}.", status=status
        )
    if status == 400 and "does not exist for the field 'project'" in detail:
        return JiraNotFoundError(f"Jira could not find {what} ({detail}).", status=status)
    if status == 410:
        return JiraGoneError(f"Jira removed this endpoint ({detail or 'gone'}).", status=status)
    if status == 429:
        reason = response.headers.get("RateLimit-Reason", "rate limited")
        return JiraThrottledError(
            f"Jira is rate limiting these calls ({reason}).", retry_after=_retry_after_seconds(response)
        )
    if status >= 500:
        return JiraServerError(f"Jira answered {status} for {what}.", status=status)
    return JiraBadRequestError(f"Jira rejected the request for {what} ({status}: {detail}).", status=status)


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default verified TLS context, built once per process (and per CA setting, which httpx
    reads from SSL_CERT_FILE / SSL_CERT_DIR): building one loads the CA bundle, tens of
    milliseconds on every invocation that opens a client."""
    return httpx.create_ssl_context()


class JiraClient:
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
        self.calls = 0

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
        return cls(http, **kwargs)

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.close()
        self._http.close()

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
            self._http.headers["Authorization"] = header
            return self._request(
                method, path, what=what, idempotent=idempotent, params=params, json_body=json_body
            )

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
            last = attempt == attempts - 1
            if self._pacer is not None:
                self._pacer.before(method, path)
            try:
                self.calls += 1
                response = self._http.request(method, path, params=params, json=json_body)
            except httpx.TimeoutException as exc:
                error: JiraError = JiraTimeoutError(f"Jira did not answer in time for {what}.")
                if last:
                    raise error from exc
                self._wait_or_raise(self._backoff(attempt), error)
                continue
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    raise JiraUnreachableError(
                        f"Cannot reach Jira at {self._http.base_url} ({exc.__class__.__name__}: {exc})."
                    ) from exc
                error = JiraTimeoutError(f"The connection to Jira broke while fetching {what}.")
                if last:
                    raise error from exc
                self._wait_or_raise(self._backoff(attempt), error)
                continue
            if response.is_success:
                try:
                    # pydantic's JSON parser: a bulk changelog of 1,000 issues is megabytes (every
                    # history carries its author), and json.loads took ~5 times as long.
                    payload = from_json(response.content)
                except ValueError as exc:
                    error = JiraMalformedResponseError(f"Jira sent a body that is not valid JSON for {what}.")
                    if last:
                        raise error from exc
                    self._wait_or_raise(self._backoff(attempt), error)
                    continue
                if self._pacer is not None:
                    self._pacer.after(response, payload)
                return payload
            if self._pacer is not None:
                self._pacer.after(response)
            error = error_for_response(response, what=what)
            if not error.transient or last:
                raise error
            wait = self._backoff(attempt)
            if isinstance(error, JiraThrottledError) and error.retry_after is not None:
                # Retry-After is the minimum wait; on a quota reason it is long and goes to the state machine.
                wait = max(wait, error.retry_after) if error.retry_after > 0 else wait
            self._wait_or_raise(wait, error)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- platform API ----------------------------------------------------------------------
    def myself(self) -> JiraUser:
        return JiraUser.model_validate(self.request("GET", "/rest/api/3/myself", what="the current user"))

    def iter_user_pages(self, page_size: int = USER_PAGE_SIZE) -> Iterator[list[JiraUser]]:
        """All users, page by page. The endpoint answers a bare array and has no `isLast`:
        stop at an empty page, not at a short one."""
        start = 0
        while True:
            body = self.request(
                "GET",
                "/rest/api/3/users/search",
                what="the user list",
                params={"startAt": start, "maxResults": page_size},
            )
            if not isinstance(body, list):
                raise JiraMalformedResponseError("Jira's user list was not a JSON array.")
            if not body:
                return
            yield [JiraUser.model_validate(item) for item in body]
            start += len(body)

    def fields(self) -> list[JiraField]:
        body = self.request("GET", "/rest/api/3/field", what="the field list")
        if not isinstance(body, list):
            raise JiraMalformedResponseError("Jira's field list was not a JSON array.")
        return [JiraField.model_validate(item) for item in body]

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
        return SearchPage.model_validate(payload)

    def approximate_count(self, jql: str, *, what: str = "the issue count") -> int:
        payload = self.request(
            "POST", "/rest/api/3/search/approximate-count", what=what, json_body={"jql": jql}
        )
        return int(payload.get("count", 0)) if isinstance(payload, dict) else 0

    # ---- agile API -------------------------------------------------------------------------
    def _iter_agile(self, path: str, *, what: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            body = self.request(
                "GET", path, what=what, params={**params, "startAt": start, "maxResults": AGILE_PAGE_SIZE}
            )
            values = body.get("values", []) if isinstance(body, dict) else None
            if values is None:
                raise JiraMalformedResponseError(f"Jira's answer for {what} had no values.")
            yield from values
            if body.get("isLast", True) or not values:
                return
            start += len(values)

    def boards(self, project_key: str) -> list[JiraBoard]:
        return [
            JiraBoard.from_payload(value)
            for value in self._iter_agile(
                "/rest/agile/1.0/board",
                what=f"the boards of project {project_key}",
                params={"projectKeyOrId": project_key},
            )
        ]

    def board_estimation_field(self, board_id: int) -> str | None:
        """The field the board itself estimates with: the reliable story-point field per board."""
        body = self.request(
            "GET",
            f"/rest/agile/1.0/board/{board_id}/configuration",
            what=f"the configuration of board {board_id}",
        )
        estimation = (body or {}).get("estimation") or {}
        field = estimation.get("field") or {}
        return field.get("fieldId")

    def sprints(self, board: JiraBoard) -> list[JiraSprint]:
        """Active, closed and future sprints of a scrum board; a kanban board has none."""
        if board.type != "scrum":
            return []
        try:
            return [
                JiraSprint.model_validate(value)
                for value in self._iter_agile(
                    f"/rest/agile/1.0/board/{board.id}/sprint",
                    what=f"the sprints of board {board.id}",
                    params={"state": "active,closed,future"},
                )
            ]
        except JiraBadRequestError as exc:
            # Jira answers 400 "The board does not support sprints" for boards without them.
            if "support sprints" in exc.reason:
                return []
            raise

    # ---- changelogs --------------------------------------------------------------------------
    def bulk_changelog(
        self,
        issue_ids: list[str],
        field_ids: list[str],
        *,
        max_results: int = BULK_CHANGELOG_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
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
        while True:
            # A POST, but a read: safe to repeat, so it gets the idempotent retries.
            payload = self.request("POST", "/rest/api/3/changelog/bulkfetch", what=what, json_body=body)
            logs = payload.get("issueChangeLogs") if isinstance(payload, dict) else None
            if not isinstance(logs, list):
                raise JiraMalformedResponseError(f"Jira's answer for {what} had no issueChangeLogs.")
            yield from logs
            token = payload.get("nextPageToken")
            if not token or not logs:
                return
            body = {**body, "nextPageToken": token}
