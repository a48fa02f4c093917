"""Fault injection for resilience tests: which request gets which failure.

A :class:`FaultPlan` is consulted once per request with a :class:`SimRequest`; it returns a
:class:`Fault` or None. Plans are thread-safe (the HTTP server answers on many threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any


@dataclass(frozen=True)
class SimRequest:
    """What a fault matcher sees about a request."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # parsed JSON body or None
    headers: dict[str, str]  # lower-cased names
    project_keys: frozenset[str]  # projects the request is about (path, query, JQL, board, sprint)
    endpoint: str  # route template, e.g. "GET /rest/agile/1.0/board/{boardId}"

    @property
    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None


class SimulatedTimeout(Exception):  # noqa: N818 - it is a simulated event, not an error of ours
    """Raised by the core when a request should never be answered."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"simulated timeout ({seconds}s)")
        self.seconds = seconds


@dataclass(frozen=True)
class Fault:
    """One failure. Build with the class methods, not the constructor."""

    kind: str  # status | latency | malformed_json | timeout | expired_token | hostile
    code: int | None = None
    retry_after: int | str | None = None
    reason: str | None = None
    seconds: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    message: str | None = None
    # kind "hostile" (see hostile.py): the request is rewritten before it is answered, the answer
    # after; `drip_bytes_per_s` sends the body that slowly.
    rewrite_request: Callable[..., Any] | None = field(default=None, compare=False)
    rewrite_answer: Callable[..., Any] | None = field(default=None, compare=False)
    drip_bytes_per_s: float = 0.0

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: int | str | None = None,
        reason: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer ``code`` (e.g. 429 with ``Retry-After``/``RateLimit-Reason``, 500, 502, 503)."""
        return cls(
            "status",
            code=code,
            retry_after=retry_after,
            reason=reason,
            headers=tuple((headers or {}).items()),
            message=message,
        )

    @classmethod
    def burst_limited(cls, retry_after: int = 2) -> Fault:
        """429 from the per-endpoint burst limit."""
        return cls.status(429, retry_after=retry_after, reason="jira-burst-based")

    @classmethod
    def quota_exhausted(cls, retry_after: int = 1800, reset: datetime | None = None) -> Fault:
        """429 from the hourly points quota: ``X-RateLimit-Reset`` says when it refills."""
        reset = reset or datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        headers = {
            "X-RateLimit-Limit": "65000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
        }
        return cls.status(429, retry_after=retry_after, reason="jira-quota-global-based", headers=headers)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Answer normally after ``seconds``."""
        return cls("latency", seconds=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 with a truncated JSON body."""
        return cls("malformed_json", code=200)

    @classmethod
    def timeout(cls, seconds: float = 65.0) -> Fault:
        """Never answer: the HTTP server holds the connection ``seconds`` then closes it without a
        response; ``httpx_handler`` raises ``httpx.ReadTimeout`` at once."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def expired_token(cls) -> Fault:
        """401 for this Bearer token from now on; a different (refreshed) token works again."""
        return cls("expired_token", code=401)


Matcher = Callable[[SimRequest], bool]


@dataclass
class Match:
    """Matches by method, path substring and/or project; ``nth`` (1-based, int or ints) or ``first``
    (count) limit it to some of the matching calls."""

    method: str | None = None
    path: str | None = None
    project: str | None = None
    nth: int | Iterable[int] | None = None
    first: int | None = None
    _seen: int = field(default=0, repr=False)

    def __call__(self, req: SimRequest) -> bool:
        if self.method and req.method.upper() != self.method.upper():
            return False
        if self.path and self.path not in req.path:
            return False
        if self.project and self.project.upper() not in req.project_keys:
            return False
        self._seen += 1
        if self.nth is not None:
            wanted = {self.nth} if isinstance(self.nth, int) else set(self.nth)
            return self._seen in wanted
        if self.first is not None:
            return self._seen <= self.first
        return True


def _as_matcher(m: Matcher | Match | str | dict) -> Matcher:
    if isinstance(m, str):
        return Match(path=m)
    if isinstance(m, dict):
        return Match(**m)
    return m


class FaultPlan:
    """Decides per request which fault (if any) applies. Thread-safe."""

    def __init__(
        self,
        rules: Iterable[tuple[Matcher | Match | str | dict, Fault]] = (),
        *,
        random_seed: int | None = None,
        random_rate: float = 0.0,
        random_faults: tuple[Fault, ...] | None = None,
    ) -> None:
        self._rules = [(_as_matcher(m), f) for m, f in rules]
        self._lock = threading.Lock()
        self._rng = Random(random_seed) if random_seed is not None else None
        self._rate = random_rate
        self._random_faults = random_faults or (
            Fault.burst_limited(retry_after=1),
            Fault.status(500),
            Fault.status(502),
            Fault.status(503),
        )
        self._expired_tokens: set[str] = set()
        self.fired: list[tuple[str, Fault]] = []  # (endpoint, fault) for assertions

    @classmethod
    def none(cls) -> FaultPlan:
        return cls()

    @classmethod
    def script(cls, rules: Iterable[tuple[Matcher | Match | str | dict, Fault]]) -> FaultPlan:
        """Rules in order; the first whose matcher accepts the request applies. A matcher is a
        :class:`Match`, a dict of Match arguments, a path substring, or ``callable(SimRequest)``.
        Every rule's matcher sees every request until one applies, so ``nth`` counts are per rule."""
        return cls(rules)

    @classmethod
    def fail_project(cls, key: str, status: int = 403) -> FaultPlan:
        """Every call about project ``key`` fails with 403 or 404."""
        message = (
            "You do not have permission to view this project."
            if status == 403
            else f"No project could be found with key '{key}'."
        )
        return cls([(Match(project=key), Fault.status(status, message=message))])

    @classmethod
    def random(cls, seed: int, rate: float, faults: tuple[Fault, ...] | None = None) -> FaultPlan:
        """Each request fails with probability ``rate`` (429 burst / 500 / 502 / 503 by default)."""
        return cls(random_seed=seed, random_rate=rate, random_faults=faults)

    def decide(self, req: SimRequest) -> Fault | None:
        with self._lock:
            token = req.bearer_token
            if token is not None and token in self._expired_tokens:
                return self._record(req, Fault.expired_token())
            for matcher, fault in self._rules:
                if matcher(req):
                    if fault.kind == "expired_token":
                        if token is None:
                            continue  # only Bearer tokens expire
                        self._expired_tokens.add(token)
                    return self._record(req, fault)
            if self._rng is not None and self._rng.random() < self._rate:
                return self._record(req, self._rng.choice(self._random_faults))
            return None

    def _record(self, req: SimRequest, fault: Fault) -> Fault:
        self.fired.append((req.endpoint, fault))
        return fault


def reset_time(seconds: int) -> str:
    """ISO time ``seconds`` after the simulator's fixed clock, for ``X-RateLimit-Reset``."""
    return (datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%MZ")
