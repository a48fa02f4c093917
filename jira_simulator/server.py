"""The simulator: answers Jira Cloud REST v3 and Agile 1.0 requests over a :class:`Workspace`.

``JiraSimulator.handle`` is the pure, thread-safe core; ``httpx_handler`` adapts it to
``httpx.MockTransport`` and ``serve()`` runs it behind a real ``ThreadingHTTPServer``.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from .atlassian import AtlassianApp
from .demo import DEMO_API_TOKEN, DEMO_EMAIL
from .faults import Fault, FaultPlan, SimRequest, SimulatedTimeout
from .hostile import DRIP_HEADER, drip_chunks, drip_stream, hostile_answer
from .privacy import PrivacyReports
from .ratelimits import DEFAULT_TENANT, RateLimits, SiteLimits, split_tenant
from .workspace import BASE_DATE, SITE, Workspace, jira_datetime, parse_jira_datetime

JSON_CT = "application/json;charset=UTF-8"
SEARCH_MAX_IDS_ONLY = 5000  # documented: up to 5000 when only id/key are requested
SEARCH_MAX_WITH_FIELDS = 100  # our cap when any field is requested (Jira lowers the page size too)
REMOVED_SEARCH_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


@dataclass(frozen=True)
class RequestRecord:
    """One answered request (``status`` 0 = deliberately never answered)."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    at: float
    endpoint: str = ""
    tenant: str = DEFAULT_TENANT  # the site (cloud id) a request under /ex/jira/{cloudId} went to


class ApiError(Exception):
    """An error answer in Jira's ``{"errorMessages": [...], "errors": {}}`` shape."""

    def __init__(
        self,
        status: int,
        *messages: str,
        headers: dict[str, str] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}
        self.payload = payload  # a body of another shape (the OAuth gateway's {"code", "message"})


@dataclass
class _Ctx:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    params: dict[str, str]
    headers: dict[str, str] | None = None  # lower-cased request headers
    tenant: str = DEFAULT_TENANT  # the cloud id of a request under /ex/jira/{cloudId}

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def q_int(self, name: str, default: int) -> int:
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"The '{name}' parameter must be an integer, got '{raw}'.") from None

    def q_list(self, name: str) -> list[str]:
        """Repeated and comma-separated values of a query parameter."""
        return [v.strip() for raw in self.query.get(name, []) for v in raw.split(",") if v.strip()]


# --------------------------------------------------------------------------- JQL


_JQL_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|=|<|>|\(|\)|,)|(?P<word>[^\s=<>!(),"']+))"""
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


@dataclass(frozen=True)
class _Jql:
    projects: tuple[tuple[str, ...], ...]  # each clause's projects: "= A" is (A,), "in (A, B)" is (A, B)
    conditions: tuple[tuple[str, str, Any], ...]  # (field, op, value)
    order_field: str
    descending: bool
    normalized: str


def _tokenize(jql: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = jql.rstrip()
    while pos < len(text):
        m = _JQL_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ApiError(400, f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            tokens.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            tokens.append(("op", m.group("op")))
        else:
            tokens.append(("word", m.group("word")))
    return tokens


_PERIOD = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_PERIOD_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def _parse_date(value: str) -> datetime:
    period = _PERIOD.match(value.strip())
    if period:
        # A period ("-90m") is relative to now, whatever the caller's time zone: Jira's own rule.
        sign, amount, unit = period.groups()
        delta = timedelta(**{_PERIOD_UNITS[unit]: int(amount)})
        return datetime.now(UTC) + (-delta if sign == "-" else delta)
    for fmt in _DATE_FORMATS:
        try:
            # JQL dates are read in the caller's time zone; the simulator's users search in UTC.
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ApiError(
        400,
        f"Date value '{value}' for field 'updated' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d'.",
    )


def parse_jql(jql: str) -> _Jql:
    """Parse the JQL subset the simulator supports (see the module docs); raise ApiError(400) otherwise."""
    tokens = _tokenize(jql or "")
    i = 0
    projects: list[tuple[str, ...]] = []
    conditions: list[tuple[str, str, Any]] = []
    order_field, descending = "key", False

    def value() -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i][0] == "op":
            raise ApiError(400, "Error in the JQL Query: Expecting either a value or a function.")
        i += 1
        return tokens[i - 1][1]

    while i < len(tokens):
        kind, word = tokens[i]
        low = word.lower()
        if kind == "word" and low == "order":
            if i + 1 >= len(tokens) or tokens[i + 1][1].lower() != "by" or i + 2 >= len(tokens):
                raise ApiError(400, "Error in the JQL Query: Expecting 'by' after 'order'.")
            order_field = tokens[i + 2][1].lower()
            if order_field in ("issuekey", "id"):
                order_field = "key"
            if order_field not in ("key", "created", "updated"):
                raise ApiError(400, f"Not able to sort using field '{tokens[i + 2][1]}'.")
            i += 3
            if i < len(tokens) and tokens[i][1].lower() in ("asc", "desc"):
                descending = tokens[i][1].lower() == "desc"
                i += 1
            if i != len(tokens):
                raise ApiError(400, "Error in the JQL Query: ORDER BY must come last.")
            break
        if conditions or projects:
            if low != "and" or kind != "word":
                raise ApiError(400, f"The simulator supports only AND between clauses, got '{word}'.")
            i += 1
            kind, word = tokens[i] if i < len(tokens) else ("", "")
            low = word.lower()
        if kind not in ("word", "str") or i + 1 >= len(tokens):
            raise ApiError(400, "Error in the JQL Query: Expecting a field name.")
        op = tokens[i + 1][1].lower()
        i += 2
        if low == "project":
            if op == "=":
                projects.append((value(),))
            elif op == "in":
                if i >= len(tokens) or tokens[i][1] != "(":
                    raise ApiError(400, "Error in the JQL Query: Expecting '(' after 'in'.")
                i += 1
                group = [value()]
                while i < len(tokens) and tokens[i][1] == ",":
                    i += 1
                    group.append(value())
                if i >= len(tokens) or tokens[i][1] != ")":
                    raise ApiError(400, "Error in the JQL Query: Expecting ')' to close the list.")
                i += 1
                projects.append(tuple(group))
            else:
                raise ApiError(400, f"The operator '{op}' is not supported by the 'project' field.")
        elif low in ("created", "updated", "createddate", "updateddate"):
            field_name = "created" if low.startswith("created") else "updated"
            if op not in (">=", ">", "<=", "<"):
                raise ApiError(
                    400, f"The operator '{op}' is not supported by the simulator for '{field_name}'."
                )
            conditions.append((field_name, op, _parse_date(value()).timestamp()))
        elif low == "id" and op == "in":
            # `id in (...)`: live updates refetch the issues events name (jira_simulator/webhooks.py).
            if i >= len(tokens) or tokens[i][1] != "(":
                raise ApiError(400, "Error in the JQL Query: Expecting '(' after 'in'.")
            i += 1
            ids = [value()]
            while i < len(tokens) and tokens[i][1] == ",":
                i += 1
                ids.append(value())
            if i >= len(tokens) or tokens[i][1] != ")":
                raise ApiError(400, "Error in the JQL Query: Expecting ')' to close the list.")
            i += 1
            conditions.append(("id", "in", frozenset(ids)))
        elif low == "sprint" and op == "=":
            raw_sprint = value()
            if not raw_sprint.isdigit():
                raise ApiError(400, f"The value '{raw_sprint}' does not exist for the field 'sprint'.")
            conditions.append(("sprint", "=", int(raw_sprint)))
        elif low in ("key", "issuekey"):
            if op not in (">=", ">", "<=", "<", "="):
                raise ApiError(400, f"The operator '{op}' is not supported by the simulator for 'key'.")
            raw = value().upper()
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+", raw):
                raise ApiError(400, f"The issue key '{raw}' for field 'key' is invalid.")
            conditions.append(("key", op, raw))
        else:
            raise ApiError(
                400,
                f"Field '{word}' does not exist or you do not have permission to view it "
                "(the simulator supports project, created, updated and key).",
            )
    if not projects:
        raise ApiError(
            400, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        )
    normalized = " ".join(f"{k}:{v}" for k, v in tokens)
    return _Jql(tuple(projects), tuple(conditions), order_field, descending, normalized)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _key_num(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


# --------------------------------------------------------------------------- simulator


class _Route:
    def __init__(self, method: str, template: str, handler: Callable[[_Ctx], Any]) -> None:
        self.method = method
        self.template = template
        self.handler = handler
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.regex = re.compile(f"^{pattern}/?$")

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"


class JiraSimulator:
    """A fake Jira Cloud site over a workspace. See the package docs for the supported endpoints."""

    def __init__(
        self,
        ws: Workspace,
        email: str = DEMO_EMAIL,
        api_token: str = DEMO_API_TOKEN,
        bearer_tokens: set[str] | frozenset[str] | None = None,
        faults: FaultPlan | None = None,
        latency_s: float = 0.0,
        burst_per_second: float | None = None,
        rate_limits: RateLimits | None = None,
        app: AtlassianApp | None = None,
    ) -> None:
        self.ws = ws
        # The OAuth 2.0 (3LO) app and its authorization server (atlassian.py), on the same origin.
        self.app = app if app is not None else AtlassianApp()
        self.email = email
        self.api_token = api_token
        self.bearer_tokens = set(bearer_tokens if bearer_tokens is not None else {"demo-oauth-token"})
        self.faults = faults or FaultPlan.none()
        self.latency_s = latency_s
        # Jira Cloud's limits per tenant (ratelimits.py). `burst_per_second` alone keeps the older
        # model: one bucket for all of the site's endpoints.
        self.limits = rate_limits or RateLimits(
            SiteLimits(burst_per_second=burst_per_second or None, burst_scope="site")
        )
        self.request_log: list[RequestRecord] = []
        self.tls_cert_path: str | None = None
        self._lock = threading.RLock()
        self._search_cache: dict[tuple[str, int], tuple[list[dict], list[tuple]]] = {}
        self._date_columns: dict[tuple[str, str, int], list[float]] = {}
        self._stop = threading.Event()
        self.privacy = PrivacyReports(self)  # the personal data reporting API (privacy.py)
        self._routes = self._build_routes()

    # ----------------------------------------------------------------- public API

    def add_bearer_token(self, token: str) -> None:
        """Accept another OAuth access token (e.g. after a simulated refresh)."""
        with self._lock:
            self.bearer_tokens.add(token)

    def stats(self) -> dict[str, Any]:
        """Counts of answered requests per endpoint and per status."""
        with self._lock:
            log = list(self.request_log)
        return {
            "total": len(log),
            "by_endpoint": dict(Counter(r.endpoint for r in log)),
            "by_status": dict(Counter(r.status for r in log)),
        }

    def calls(self, endpoint_substring: str = "", status: int | None = None) -> list[RequestRecord]:
        """Logged requests whose ``METHOD /template`` contains the substring (and with that status)."""
        with self._lock:
            return [
                r
                for r in self.request_log
                if endpoint_substring in r.endpoint and (status is None or r.status == status)
            ]

    def handle(
        self,
        method: str,
        path_with_query: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: ``(status, headers, body bytes)``.

        Raises :class:`SimulatedTimeout` when a timeout fault says the request is never answered.
        """
        method = method.upper()
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        split = urlsplit(path_with_query)
        if (auth := self.app.answer(method, split.path, split.query, hdrs, body)) is not None:
            with self._lock:
                self.request_log.append(
                    RequestRecord(
                        method,
                        split.path,
                        parse_qs(split.query),
                        auth[0],
                        time.time(),
                        f"{method} {split.path}",
                    )
                )
            return auth
        tenant, path = split_tenant(unquote(split.path))
        oauth = hdrs.get("authorization", "").lower().startswith("bearer ")
        query = parse_qs(split.query, keep_blank_values=True)
        route, params = self._match(method, path)
        endpoint = route.endpoint if route else f"{method} <unknown>"
        record_status = 0
        try:
            parsed_body = None
            body_error = None
            if body:
                try:
                    parsed_body = json.loads(body)
                except ValueError:
                    body_error = ApiError(
                        400, "Unexpected character in the request body: it is not valid JSON."
                    )
            sim_req = SimRequest(
                method,
                path,
                query,
                parsed_body,
                hdrs,
                self._projects_of(path, params, query, parsed_body),
                endpoint,
            )
            fault = self.faults.decide(sim_req)
            if self.latency_s:
                time.sleep(self.latency_s)
            if fault is not None and fault.kind == "latency":
                time.sleep(fault.seconds)
            if (refusal := self.limits.admit(tenant, method, endpoint, oauth=oauth)) is not None:
                record_status = 429
                return self._error(429, "Rate limit exceeded.", refusal.headers)
            if fault is not None and fault.kind == "expired_token":
                # The Bearer token this request carries expires now: it is refused from here on,
                # and a refreshed token (add_bearer_token) works.
                token = sim_req.bearer_token
                if token is None:
                    fault = None
                else:
                    with self._lock:
                        self.bearer_tokens.discard(token)
                    self.app.expire_access_token(token)
            if fault is not None and fault.kind == "hostile" and fault.rewrite_request is not None:
                parsed_body, query = fault.rewrite_request(sim_req, parsed_body, query)
            if fault is not None and fault.kind not in ("latency", "malformed_json", "hostile"):
                if fault.kind == "timeout":
                    raise SimulatedTimeout(fault.seconds)
                answer = self._fault_answer(fault)
                record_status = answer[0]
                return answer
            try:
                self._authenticate(hdrs, tenant, endpoint)
                if route is None:
                    raise ApiError(404, "Null for uri: " + path)  # what Jira's REST layer answers
                if body_error is not None:
                    raise body_error
                ctx = _Ctx(method, path, query, parsed_body, params, hdrs, tenant)
                result = route.handler(ctx)
                status, payload = result if isinstance(result, tuple) else (200, result)
                out_headers = self.limits.charge(tenant, method, path, payload, oauth=oauth)
                if fault is not None and fault.kind == "hostile":
                    status, out_headers, payload = hostile_answer(fault, sim_req, status, payload)
                data = (
                    payload
                    if isinstance(payload, bytes)
                    else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                )
            except ApiError as err:
                status = err.status
                data = json.dumps(err.payload or {"errorMessages": err.messages, "errors": {}}).encode()
                out_headers = {**self.limits.charge(tenant, method, path, None, oauth=oauth), **err.headers}
            if fault is not None and fault.kind == "malformed_json" and status == 200:
                data = data[: max(1, len(data) // 2)]
            record_status = status
            return status, self._headers(out_headers), data
        finally:
            with self._lock:
                self.request_log.append(
                    RequestRecord(method, path, query, record_status, time.time(), endpoint, tenant)
                )

    @property
    def httpx_handler(self) -> Callable[[Any], Any]:
        """``callable(httpx.Request) -> httpx.Response`` for ``httpx.MockTransport``."""

        def handler(request: Any) -> Any:
            import httpx

            try:
                status, headers, data = self.handle(
                    request.method,
                    request.url.raw_path.decode("ascii"),
                    dict(request.headers),
                    request.content,
                )
            except SimulatedTimeout as exc:
                raise httpx.ReadTimeout(str(exc), request=request) from None
            drip = float(headers.pop(DRIP_HEADER, 0) or 0)
            if drip:  # a body sent a few bytes at a time
                return httpx.Response(
                    status, headers=headers, stream=drip_stream(data, drip), request=request
                )
            return httpx.Response(status, headers=headers, content=data, request=request)

        return handler

    @contextmanager
    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False, tenant: str | None = None
    ) -> Iterator[str]:
        """Run a real HTTP(S) server in a daemon thread; yields its base URL. With ``tls=True`` a
        self-signed certificate is made with the ``openssl`` CLI; its path is ``self.tls_cert_path``.
        With ``tenant``, the server is that site of its own (its own origin, its own rate limits)."""
        sim = self

        class Handler(_HttpHandler):
            simulator = sim
            site = tenant

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        tmpdir = None
        scheme = "http"
        if tls:
            tmpdir = tempfile.mkdtemp(prefix="jira-sim-tls-")
            cert, key = _self_signed_cert(Path(tmpdir), host)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.tls_cert_path = str(cert)
            scheme = "https"
        self._stop.clear()
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        url = f"{scheme}://{host}:{server.server_address[1]}"
        if tenant is None:  # the site's webhook payloads name where it is served (live.live_parts)
            self.served_url = url
            if hasattr(self, "webhooks"):
                self.webhooks.site_url = url
        try:
            yield url
        finally:
            self._stop.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)

    # ----------------------------------------------------------------- plumbing

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Content-Type": JSON_CT, "X-AREQUESTID": "sim", "Cache-Control": "no-cache, no-store"}
        headers.update(extra or {})
        return headers

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> tuple:
        body = json.dumps({"errorMessages": [message], "errors": {}}).encode()
        return status, self._headers(headers), body

    def _fault_answer(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        headers = dict(fault.headers)
        if fault.kind == "expired_token":
            headers["WWW-Authenticate"] = 'Bearer realm="jira", error="invalid_token"'
            return self._error(401, "The access token expired.", headers)
        code = fault.code or 500
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.reason:
            headers["RateLimit-Reason"] = fault.reason
        if code == 429 and "X-RateLimit-Reset" not in headers:
            seconds = fault.retry_after if isinstance(fault.retry_after, int) else 1
            headers["X-RateLimit-Reset"] = _reset_iso(seconds or 1)
        default = {
            429: "Rate limit exceeded.",
            403: "You do not have permission to view this resource.",
            404: "The resource could not be found.",
            500: "Internal server error.",
            502: "Bad gateway.",
            503: "Service unavailable.",
        }
        return self._error(code, fault.message or default.get(code, f"Simulated error {code}."), headers)

    def _authenticate(self, headers: dict[str, str], tenant: str, endpoint: str) -> None:
        auth = headers.get("authorization", "")
        ok = False
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            ok = decoded == f"{self.email}:{self.api_token}"
        elif auth.lower().startswith("bearer "):
            token = auth[7:].strip()
            with self._lock:
                ok = token in self.bearer_tokens
            # The app's tokens work through the gateway only (/ex/jira/{cloudId}), per grant and scope.
            if not ok and tenant != DEFAULT_TENANT and self.app.issued(token):
                refusal = self.app.check_call(token, tenant, endpoint)
                if refusal is not None:
                    raise ApiError(refusal.status, headers=refusal.headers, payload=refusal.body)
                ok = True
        if not ok:
            raise ApiError(
                401,
                "Client must be authenticated to access this resource.",
                headers={
                    "WWW-Authenticate": 'OAuth realm="https%3A%2F%2Facme-sim.atlassian.net"',
                    "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                },
            )

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method == method:
                m = route.regex.match(path)
                if m:
                    return route, m.groupdict()
        return None, {}

    def _projects_of(self, path: str, params: dict[str, str], query: dict, body: Any) -> frozenset[str]:
        """Which projects a request is about, for ``FaultPlan.fail_project``."""
        keys: set[str] = set()
        ws = self.ws
        for candidate in [params.get("projectIdOrKey"), *query.get("projectKeyOrId", [])]:
            if candidate:
                p = ws.project(candidate)
                keys.add(p.key if p else candidate.upper())
        for raw in query.get("keys", []):
            keys.update(k.strip().upper() for k in raw.split(",") if k.strip())
        if "boardId" in params and params["boardId"].isdigit():
            board = ws.board(int(params["boardId"]))
            if board:
                keys.add(board["location"]["projectKey"])
        if "sprintId" in params and params["sprintId"].isdigit():
            sprint = ws.sprint(int(params["sprintId"]))
            board = ws.board(sprint["originBoardId"]) if sprint else None
            if board:
                keys.add(board["location"]["projectKey"])
        jqls = list(query.get("jql", []))
        if isinstance(body, dict):
            if isinstance(body.get("jql"), str):
                jqls.append(body["jql"])
            for item in body.get("issueIdsOrKeys") or []:
                if isinstance(item, str) and "-" in item:
                    keys.add(item.rsplit("-", 1)[0].upper())
        for jql in jqls:
            for m in re.finditer(r"project\s*=\s*[\"']?([A-Za-z0-9_]+)", jql, re.IGNORECASE):
                keys.add(m.group(1).upper())
        return frozenset(keys)

    def _build_routes(self) -> list[_Route]:
        r = _Route
        return [
            r("GET", "/rest/api/3/myself", self._myself),
            r("GET", "/rest/api/3/serverInfo", self._server_info),
            r("GET", "/rest/api/3/field", self._fields),
            r("GET", "/rest/api/3/users/search", self._users_search),
            r("GET", "/rest/api/3/user/bulk", self._user_bulk),
            r("GET", "/rest/api/3/user/search", self._user_search),
            r("GET", "/rest/api/3/project", self._project_list_v2),  # deprecated, still served
            r("GET", "/rest/api/3/project/search", self._project_search),
            r("GET", "/rest/api/3/project/{projectIdOrKey}", self._project_get),
            r("GET", "/rest/api/3/project/{projectIdOrKey}/versions", self._project_versions),
            r("GET", "/rest/api/3/search/jql", self._search_jql),
            r("POST", "/rest/api/3/search/jql", self._search_jql),
            r("POST", "/rest/api/3/search/approximate-count", self._approximate_count),
            r("GET", "/rest/api/3/search", self._removed_search),
            r("POST", "/rest/api/3/search", self._removed_search),
            r("GET", "/rest/api/3/issue/{issueIdOrKey}", self._issue_get),
            r("POST", "/rest/api/3/changelog/bulkfetch", self._changelog_bulkfetch),
            # Legacy v2 paths for older peer clients (v2 still offers the startAt-style search).
            r("GET", "/rest/api/2/field", self._fields),
            r("GET", "/rest/api/2/users/search", self._users_search),
            r("GET", "/rest/api/2/project", self._project_list_v2),
            r("GET", "/rest/api/2/project/search", self._project_search),
            r("GET", "/rest/api/2/search", self._search_v2),
            r("POST", "/rest/api/2/search", self._search_v2),
            r("GET", "/rest/agile/1.0/board", self._boards),
            r("GET", "/rest/agile/1.0/board/{boardId}", self._board_get),
            r("GET", "/rest/agile/1.0/board/{boardId}/configuration", self._board_configuration),
            r("GET", "/rest/agile/1.0/board/{boardId}/sprint", self._board_sprints),
            r("GET", "/rest/agile/1.0/sprint/{sprintId}", self._sprint_get),
            # Dynamic webhooks and the control API (jira_simulator/webhooks.py, control.py).
            *(r(method, path, handler) for method, path, handler in self.extra_routes()),
            *(r(method, path, handler) for method, path, handler in self.privacy.routes()),
        ]

    def extra_routes(self) -> list[tuple[str, str, Callable[[_Ctx], Any]]]:
        """Routes added by the webhook and control modules (see `jira_simulator.live`)."""
        from .live import live_routes

        return live_routes(self)

    # ----------------------------------------------------------------- platform endpoints

    def _myself(self, ctx: _Ctx) -> Any:
        me = dict(self.ws.admin_user)
        me["emailAddress"] = self.email
        me["applicationRoles"] = {"size": 1, "items": []}
        me["groups"] = {"size": 2, "items": []}
        me["expand"] = "groups,applicationRoles"
        return me

    def _server_info(self, ctx: _Ctx) -> Any:
        return {
            "baseUrl": SITE,
            "displayUrl": SITE,
            "displayUrlServicedeskHelpCenter": SITE,
            "displayUrlConfluence": SITE.replace(".net", ".net/wiki"),
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100296,
            "buildDate": "2026-10-30T00:00:00.000+0000",
            "serverTime": jira_datetime(BASE_DATE),
            "scmInfo": "57a0ca5b" + "0" * 32,
            "serverTitle": "Jira",
            "serverTimeZone": "Etc/UTC",
        }

    def _fields(self, ctx: _Ctx) -> Any:
        return self.ws.fields

    def _users_search(self, ctx: _Ctx) -> Any:
        start = max(0, ctx.q_int("startAt", 0))
        size = min(max(1, ctx.q_int("maxResults", 50)), 1000)
        return self.ws.users[start : start + size]

    def _user_search(self, ctx: _Ctx) -> Any:
        """`GET /rest/api/3/user/search`: active users whose display name (or a word of it) or
        e-mail starts with `query`, or the one with `accountId`; a bare array, startAt paged."""
        text, account_id = (ctx.q("query") or "").strip().lower(), ctx.q("accountId")
        if not text and not account_id:
            raise ApiError(400, "The query parameter 'query' or 'accountId' is required.")
        start = max(0, ctx.q_int("startAt", 0))
        size = min(max(1, ctx.q_int("maxResults", 50)), 1000)

        def matches(user: dict) -> bool:
            if account_id and user["accountId"] != account_id:
                return False
            name = (user.get("displayName") or "").lower()
            email = (user.get("emailAddress") or "").lower()
            return (
                not text
                or name.startswith(text)
                or email.startswith(text)
                or any(word.startswith(text) for word in name.split())
            )

        found = [u for u in self.ws.users if u.get("active") and matches(u)]
        return found[start : start + size]

    def _user_bulk(self, ctx: _Ctx) -> Any:
        ids = ctx.query.get("accountId", [])
        if not ids:
            raise ApiError(400, "You must specify at least one accountId, username or key.")
        start = max(0, ctx.q_int("startAt", 0))
        size = min(max(1, ctx.q_int("maxResults", 10)), 200)
        found = [u for u in (self.ws.user(a) for a in dict.fromkeys(ids)) if u is not None]
        return self._page_bean("/rest/api/3/user/bulk", ctx, found, start, size)

    def _page_bean(self, path: str, ctx: _Ctx, items: list, start: int, size: int) -> dict:
        page = items[start : start + size]
        is_last = start + size >= len(items)
        base_query = {k: v for k, v in ctx.query.items() if k not in ("startAt", "maxResults")}
        bean: dict[str, Any] = {
            "self": f"{SITE}{path}?{urlencode({**base_query, 'startAt': start, 'maxResults': size}, True)}",
        }
        if not is_last:
            nxt = {**base_query, "startAt": start + size, "maxResults": size}
            bean["nextPage"] = f"{SITE}{path}?{urlencode(nxt, doseq=True)}"
        bean.update(maxResults=size, startAt=start, total=len(items), isLast=is_last, values=page)
        return bean

    def _project_summary(self, key: str) -> dict:
        p = self.ws.project(key)
        assert p is not None
        return {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "self": f"{SITE}/rest/api/3/project/{p.id}",
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "avatarUrls": _project_avatars(p.id),
            "projectTypeKey": "software",
            "simplified": p.style == "next-gen",
            "style": p.style,
            "isPrivate": False,
            "properties": {},
        }

    def _project_search(self, ctx: _Ctx) -> Any:
        start = max(0, ctx.q_int("startAt", 0))
        size = min(max(1, ctx.q_int("maxResults", 50)), 100)
        projects = list(self.ws.projects)
        keys = {k.upper() for k in ctx.q_list("keys")}
        if keys:
            projects = [p for p in projects if p.key in keys]
        ids = set(ctx.q_list("id"))
        if ids:
            projects = [p for p in projects if p.id in ids]
        text = (ctx.q("query") or "").lower()
        if text:
            projects = [p for p in projects if text in p.key.lower() or text in p.name.lower()]
        type_key = ctx.q("typeKey")
        if type_key and "software" not in type_key.split(","):
            projects = []
        values = [self._project_summary(p.key) for p in projects]
        if "insight" in (ctx.q("expand") or "").split(","):
            for value in values[start : start + size]:
                value["insight"] = self._project_insight(value["key"])
        return self._page_bean(ctx.path.rstrip("/"), ctx, values, start, size)

    def _project_insight(self, key: str) -> dict:
        """ProjectInsight: the issue count and the last issue update (generates the issues)."""
        issues = self.ws.issues_by_project[key]
        last = max((parse_jira_datetime(i["fields"]["updated"]) for i in issues), default=None)
        insight: dict = {"totalIssueCount": self.ws.issue_count(key)}
        if last is not None:
            insight["lastIssueUpdateTime"] = jira_datetime(last.astimezone(UTC), 0)
        return insight

    def _project_versions(self, ctx: _Ctx) -> Any:
        """`GET /rest/api/3/project/{projectIdOrKey}/versions`: every version, unpaged."""
        key = ctx.params["projectIdOrKey"]
        p = self.ws.project(key)
        if p is None:
            raise ApiError(404, f"No project could be found with key '{key}'.")
        return [dict(v) for v in self.ws.project_versions(p.key)]

    def _project_get(self, ctx: _Ctx) -> Any:
        key = ctx.params["projectIdOrKey"]
        p = self.ws.project(key)
        if p is None:
            raise ApiError(404, f"No project could be found with key '{key}'.")
        out = self._project_summary(p.key)
        lead = self.ws.users[1]
        out.update(
            description=f"{p.name} ({'team-managed' if p.style == 'next-gen' else 'company-managed'})",
            lead={k: lead[k] for k in ("self", "accountId", "avatarUrls", "displayName", "active")},
            components=self.ws.project_components(p.key),
            issueTypes=_issue_types(),
            assigneeType="UNASSIGNED",
            versions=self.ws.project_versions(p.key),
            roles={},
        )
        return out

    # ----------------------------------------------------------------- search

    def _dates(self, project_key: str, field_name: str) -> list[float]:
        """Every issue's `field_name` of a project as a timestamp, in the project's order (cached per
        version): a new range query over a large project reads every issue's dates, and Jira
        answers it in about the time of any other query."""
        key = (project_key, field_name, self.ws.version)
        with self._lock:
            column = self._date_columns.get(key)
        if column is None:
            column = [_ts(i["fields"][field_name]) for i in self.ws.issues_by_project[project_key]]
            with self._lock:
                if len(self._date_columns) > 64:
                    self._date_columns.clear()
                self._date_columns[key] = column
        return column

    def _matching(self, jql: _Jql) -> tuple[list[dict], list[tuple]]:
        """Issues matching a parsed query, sorted ascending, with their sort keys (cached per version)."""
        cache_key = (jql.normalized, self.ws.version)
        with self._lock:
            hit = self._search_cache.get(cache_key)
        if hit is not None:
            return hit
        issues: list[dict] = []
        order = {p.key: n for n, p in enumerate(self.ws.projects)}
        groups = []
        for group in jql.projects:
            keys = set()
            for raw in group:
                p = self.ws.project(raw)
                if p is None:
                    raise ApiError(400, f"The value '{raw}' does not exist for the field 'project'.")
                keys.add(p.key)
            groups.append(keys)
        # Clauses are ANDed: "project = A AND project = B" matches nothing.
        wanted = set.intersection(*groups)
        projects = [p.key for p in self.ws.projects if p.key in wanted]
        for key in projects:
            issues.extend(self.ws.issues_by_project[key])
        keep: Iterable[int] = range(len(issues))
        for field_name, op, value in jql.conditions:
            if field_name in ("id", "sprint"):
                keep = _live_filter(self.ws, issues, keep, field_name, value)
                continue
            test = _OPS[op]
            if field_name == "key":
                vkey = (order.get(value.rsplit("-", 1)[0], -1), _key_num(value))
                positions = [(order[i["key"].rsplit("-", 1)[0]], _key_num(i["key"])) for i in issues]
                keep = [k for k in keep if test(positions[k], vkey)]
            else:
                dates = [at for key in projects for at in self._dates(key, field_name)]
                keep = [k for k in keep if test(dates[k], value)]
        issues = [issues[k] for k in keep]

        def sort_key(issue: dict) -> tuple:
            pk, num = issue["key"].rsplit("-", 1)
            primary = 0.0 if jql.order_field == "key" else _ts(issue["fields"][jql.order_field])
            return (primary, order[pk], int(num))

        pairs = sorted(((sort_key(i), i) for i in issues), key=lambda kv: kv[0])
        result = ([i for _, i in pairs], [k for k, _ in pairs])
        with self._lock:
            if len(self._search_cache) > 32:
                self._search_cache.clear()
            self._search_cache[cache_key] = result
        return result

    def _search_args(self, ctx: _Ctx) -> dict[str, Any]:
        if ctx.method == "POST":
            body = ctx.body if isinstance(ctx.body, dict) else {}
            allowed = {
                "jql",
                "nextPageToken",
                "maxResults",
                "fields",
                "expand",
                "fieldsByKeys",
                "properties",
                "reconcileIssues",
            }
            for name in body:
                if name not in allowed:
                    raise ApiError(400, f'Unrecognized field "{name}" (not marked as ignorable).')
            fields = body.get("fields") or []
            if not isinstance(fields, list):
                raise ApiError(400, "'fields' must be an array of strings.")
            return {
                "jql": body.get("jql") or "",
                "token": body.get("nextPageToken"),
                "max": body.get("maxResults"),
                "fields": [f for raw in fields for f in str(raw).split(",")],
                "expand": body.get("expand") or "",
            }
        return {
            "jql": ctx.q("jql") or "",
            "token": ctx.q("nextPageToken"),
            "max": ctx.q_int("maxResults", 50) if ctx.q("maxResults") else None,
            "fields": ctx.q_list("fields"),
            "expand": ",".join(ctx.q_list("expand")),
        }

    def _search_jql(self, ctx: _Ctx) -> Any:
        args = self._search_args(ctx)
        jql = parse_jql(args["jql"])
        field_ids, include_all = _select_fields(args["fields"], self.ws.fields)
        has_fields = include_all or bool(field_ids)
        cap = SEARCH_MAX_WITH_FIELDS if has_fields else SEARCH_MAX_IDS_ONLY
        requested = args["max"] if args["max"] is not None else 50
        if not isinstance(requested, int) or requested < 0:
            raise ApiError(400, "'maxResults' must be a non-negative integer.")
        size = min(requested or 50, cap)
        issues, keys = self._matching(jql)
        query_hash = hashlib.sha256(jql.normalized.encode()).hexdigest()[:16]
        after = _decode_token(args["token"], query_hash) if args["token"] else None
        # The token carries the sort key of the page's last issue (keyset paging), so issues
        # deleted between pages cannot make the walk skip others.
        if jql.descending:
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            lo = max(0, end - size)
            page = issues[lo:end][::-1]
            last_key = keys[lo] if page else None
            is_last = lo == 0
        else:
            start = 0 if after is None else bisect.bisect_right(keys, after)
            page = issues[start : start + size]
            last_key = keys[start + len(page) - 1] if page else None
            is_last = start + size >= len(issues)
        expand = {e.strip() for e in args["expand"].split(",") if e.strip()}
        out_issues = [self._render_issue(i, field_ids, include_all, expand) for i in page]
        result: dict[str, Any] = {"issues": out_issues}
        if not is_last and last_key is not None:
            result["nextPageToken"] = _encode_token(query_hash, last_key)
        result["isLast"] = is_last or not page
        if "names" in expand:
            wanted = {f["id"] for f in self.ws.fields} if include_all else set(field_ids)
            result["names"] = {f["id"]: f["name"] for f in self.ws.fields if f["id"] in wanted}
        return result

    def _render_issue(self, issue: dict, field_ids: list[str], include_all: bool, expand: set[str]) -> dict:
        out: dict[str, Any] = {"id": issue["id"], "self": issue["self"], "key": issue["key"]}
        if include_all or field_ids:
            out = {"expand": issue["expand"], **out}
            src = issue["fields"]
            if include_all:
                excluded = set(field_ids)
                out["fields"] = {k: v for k, v in src.items() if k not in excluded}
            else:
                out["fields"] = {k: src[k] for k in field_ids if k in src}
        if "changelog" in expand:
            # Like Jira: the embedded changelog is newest first and truncated (use bulkfetch for all).
            histories = list(reversed(self.ws.changelog(issue["key"])))[:100]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        return out

    def _approximate_count(self, ctx: _Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        for name in body:
            if name != "jql":
                raise ApiError(400, f'Unrecognized field "{name}" (not marked as ignorable).')
        jql = parse_jql(body.get("jql") or "")
        issues, _ = self._matching(jql)
        return {"count": len(issues)}

    def _project_list_v2(self, ctx: _Ctx) -> Any:
        return [self._project_summary(p.key) for p in self.ws.projects]

    def _search_v2(self, ctx: _Ctx) -> Any:
        """Old-style search (startAt/total) as /rest/api/2/search still answers it."""
        if ctx.method == "POST":
            body = ctx.body if isinstance(ctx.body, dict) else {}
            jql_text, start = body.get("jql") or "", body.get("startAt") or 0
            requested, fields = body.get("maxResults"), [str(f) for f in body.get("fields") or ["*navigable"]]
        else:
            jql_text, start = ctx.q("jql") or "", ctx.q_int("startAt", 0)
            requested, fields = ctx.q_int("maxResults", 50), ctx.q_list("fields") or ["*navigable"]
        field_ids, include_all = _select_fields(fields, self.ws.fields)
        size = min(int(requested or 50), SEARCH_MAX_WITH_FIELDS)
        issues, _ = self._matching(parse_jql(jql_text))
        if parse_jql(jql_text).descending:
            issues = issues[::-1]
        page = issues[start : start + size]
        return {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(issues),
            "issues": [self._render_issue(i, field_ids, include_all, set()) for i in page],
        }

    def _removed_search(self, ctx: _Ctx) -> Any:
        raise ApiError(410, REMOVED_SEARCH_MESSAGE)

    def _issue_get(self, ctx: _Ctx) -> Any:
        issue = self.ws.get_issue(ctx.params["issueIdOrKey"])
        if issue is None:
            raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
        requested = ctx.q_list("fields")
        field_ids, include_all = _select_fields(requested or ["*all"], self.ws.fields)
        expand = set(ctx.q_list("expand"))
        return self._render_issue(issue, field_ids, include_all, expand)

    def _changelog_bulkfetch(self, ctx: _Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else None
        if body is None:
            raise ApiError(400, "A request body is required.")
        for name in body:
            if name not in ("issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken"):
                raise ApiError(400, f'Unrecognized field "{name}" (not marked as ignorable).')
        ids = body.get("issueIdsOrKeys")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
            raise ApiError(400, "issueIdsOrKeys must contain between 1 and 1000 issue ids or keys.")
        field_ids = body.get("fieldIds") or []
        if len(field_ids) > 10:
            raise ApiError(400, "fieldIds must contain at most 10 field ids.")
        size = body.get("maxResults", 1000)
        if not isinstance(size, int) or not 1 <= size <= 10000:
            raise ApiError(400, "maxResults must be between 1 and 10000.")
        request_hash = hashlib.sha256(json.dumps([ids, field_ids]).encode()).hexdigest()[:16]
        offset = 0
        if body.get("nextPageToken"):
            decoded = _decode_token(body["nextPageToken"], request_hash)
            offset = int(decoded[0])
        entries: list[tuple[float, int, str, dict]] = []
        for raw in dict.fromkeys(str(x) for x in ids):
            issue = self.ws.get_issue(raw)
            if issue is None:
                continue
            for h in self.ws.changelog(issue["key"]):
                items = (
                    h["items"] if not field_ids else [it for it in h["items"] if it["fieldId"] in field_ids]
                )
                if items:
                    entries.append((_ts(h["created"]), int(issue["id"]), issue["id"], {**h, "items": items}))
        # Documented order: by changelog date, then issue id, oldest first.
        entries.sort(key=lambda e: (e[0], e[1], e[3]["id"]))
        page = entries[offset : offset + size]
        logs: list[dict] = []
        for _, _, issue_id, history in page:
            if logs and logs[-1]["issueId"] == issue_id:
                logs[-1]["changeHistories"].append(history)
            else:
                logs.append({"issueId": issue_id, "changeHistories": [history]})
        result: dict[str, Any] = {"issueChangeLogs": logs}
        if offset + size < len(entries):
            result["nextPageToken"] = _encode_token(request_hash, [offset + size])
        return result

    # ----------------------------------------------------------------- agile

    def _board_or_404(self, ctx: _Ctx) -> dict:
        raw = ctx.params["boardId"]
        board = self.ws.board(int(raw)) if raw.isdigit() else None
        if board is None:
            raise ApiError(404, "Board does not exist or you do not have permission to see it.")
        return board

    def _agile_page(self, ctx: _Ctx, items: list) -> dict:
        start = max(0, ctx.q_int("startAt", 0))
        size = min(max(1, ctx.q_int("maxResults", 50)), 50)
        page = items[start : start + size]
        return {
            "maxResults": size,
            "startAt": start,
            "total": len(items),
            "isLast": start + size >= len(items),
            "values": page,
        }

    def _boards(self, ctx: _Ctx) -> Any:
        boards = list(self.ws.boards)
        project = ctx.q("projectKeyOrId")
        if project:
            p = self.ws.project(project)
            if p is None:
                # Agile answers a bad location filter with 400, not 404.
                raise ApiError(400, f"No project could be found with key or id '{project}'.")
            boards = [b for b in boards if b["location"]["projectKey"] == p.key]
        types = set(ctx.q_list("type"))
        if types:
            boards = [b for b in boards if b["type"] in types]
        name = (ctx.q("name") or "").lower()
        if name:
            boards = [b for b in boards if name in b["name"].lower()]
        return self._agile_page(ctx, boards)

    def _board_get(self, ctx: _Ctx) -> Any:
        return self._board_or_404(ctx)

    def _board_configuration(self, ctx: _Ctx) -> Any:
        board = self._board_or_404(ctx)
        p = self.ws.project(board["location"]["projectKey"])
        assert p is not None
        sp_field = p.story_point_field_id
        sp_name = "Story point estimate" if p.style == "next-gen" else "Story Points"
        columns = [("To Do", ["10000"]), ("In Progress", ["3", "10001"]), ("Done", ["10002"])]
        config: dict[str, Any] = {
            "id": board["id"],
            "name": board["name"],
            "type": board["type"],
            "self": f"{SITE}/rest/agile/1.0/board/{board['id']}/configuration",
            "location": {"type": "project", "projectKeyOrId": p.id},
            "filter": {
                "id": str(10000 + board["id"]),
                "self": f"{SITE}/rest/api/2/filter/{10000 + board['id']}",
            },
            "columnConfig": {
                "columns": [
                    {
                        "name": name,
                        "statuses": [{"id": s, "self": f"{SITE}/rest/api/2/status/{s}"} for s in ids],
                    }
                    for name, ids in columns
                ],
                "constraintType": "none",
            },
            "estimation": {"type": "field", "field": {"fieldId": sp_field, "displayName": sp_name}},
            "ranking": {"rankCustomFieldId": 10019},
        }
        if board["type"] == "kanban":
            config["subQuery"] = {"query": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"}
        return config

    def _board_sprints(self, ctx: _Ctx) -> Any:
        board = self._board_or_404(ctx)
        if board["type"] != "scrum":
            raise ApiError(400, "The board does not support sprints")
        sprints = self.ws.sprints.get(board["id"], [])
        states = set(ctx.q_list("state"))
        bad = states - {"active", "closed", "future"}
        if bad:
            raise ApiError(
                400, f"The sprint state '{sorted(bad)[0]}' is not valid: use future, active or closed."
            )
        if states:
            sprints = [s for s in sprints if s["state"] in states]
        return self._agile_page(ctx, sprints)

    def _sprint_get(self, ctx: _Ctx) -> Any:
        raw = ctx.params["sprintId"]
        sprint = self.ws.sprint(int(raw)) if raw.isdigit() else None
        if sprint is None:
            raise ApiError(404, "Sprint does not exist or you do not have permission to see it.")
        return sprint


# --------------------------------------------------------------------------- helpers


def _live_filter(
    ws: Workspace, issues: list[dict], keep: Iterable[int], field_name: str, value: Any
) -> list[int]:
    """`id in (...)` and `sprint = N`. Like Jira, an id that names no issue is a JQL error (400)."""
    if field_name == "id":
        missing = sorted(v for v in value if not v.isdigit() or ws.get_issue(v) is None)
        if missing:
            raise ApiError(400, f"An issue with key '{missing[0]}' does not exist for field 'id'.")
        return [k for k in keep if issues[k]["id"] in value]
    sprint_field = ws.sprint_field_id
    return [k for k in keep if any(s.get("id") == value for s in issues[k]["fields"].get(sprint_field) or [])]


def _encode_token(query_hash: str, last: Any) -> str:
    raw = json.dumps({"q": query_hash, "a": list(last)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, query_hash: str) -> tuple:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["q"] != query_hash:
            raise ValueError("token from another query")
        return tuple(data["a"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            400, "The provided next page token is invalid or expired, or belongs to a different query."
        ) from None


def _select_fields(requested: list[str], fields: list[dict]) -> tuple[list[str], bool]:
    """``(field ids, include_all)``; with include_all the ids are exclusions."""
    known = {f["id"] for f in fields}
    include_all = False
    wanted: list[str] = []
    excluded: list[str] = []
    for raw in requested:
        name = raw.strip()
        if name in ("*all", "*navigable"):
            include_all = True
        elif name.startswith("-"):
            excluded.append(name[1:])
        elif name in ("id", "key", "issuekey", ""):
            continue
        elif name in known:
            wanted.append(name)
        # Unknown field ids are ignored, as Jira does.
    if include_all:
        return excluded, True
    if excluded and not wanted:
        return excluded, True  # "-description" alone means navigable fields minus description
    return list(dict.fromkeys(wanted)), False


def _issue_types() -> list[dict]:
    from .workspace import ISSUE_TYPES

    return [
        {
            k: v
            for k, v in t.items()
            if k in ("self", "id", "description", "iconUrl", "name", "subtask", "avatarId", "hierarchyLevel")
        }
        for t in ISSUE_TYPES.values()
    ]


def _project_avatars(pid: str) -> dict[str, str]:
    base = f"{SITE}/rest/api/3/universal_avatar/view/type/project/avatar/10419?pid={pid}"
    return {size: f"{base}&size={size}" for size in ("48x48", "24x24", "16x16", "32x32")}


def _reset_iso(seconds: int) -> str:
    from datetime import timedelta

    # Wall-clock based on purpose: clients compare it with their own clock to know how long to pause.
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _self_signed_cert(directory: Path, host: str) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("serve(tls=True) needs the openssl CLI on PATH")
    san = (
        f"subjectAltName=DNS:localhost,IP:{host}"
        if host.replace(".", "").isdigit()
        else f"subjectAltName=DNS:{host}"
    )
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={host}",
            "-addext",
            san,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK of the headers, ~40 ms on every answer (Jira answers without that stall).
    disable_nagle_algorithm = True
    simulator: JiraSimulator
    site: str | None = None  # this server's tenant, when it serves one site of several

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = f"/ex/jira/{self.site}{self.path}" if self.site else self.path
        try:
            status, headers, data = self.simulator.handle(
                self.command, path, dict(self.headers.items()), body
            )
        except SimulatedTimeout as exc:
            # Hold the connection, then drop it without an answer (until the server stops).
            self.simulator._stop.wait(exc.seconds)
            self.close_connection = True
            return
        drip = float(headers.pop(DRIP_HEADER, 0) or 0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not drip:
            self.wfile.write(data)
            return
        try:  # a slow-drip answer: a few bytes at a time, until sent or the client goes away
            for chunk in drip_chunks(data, drip, self.simulator._stop):
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging."""
