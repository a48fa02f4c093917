"""Jira Cloud's 2026 rate limits, per tenant (see ../shared/JIRA_API_NOTES.md, "Rate limits").

Three limits, each answering 429 with the documented headers:

- a **burst** token bucket per tenant, endpoint and method (`jira-burst-based`); `burst_scope="site"`
  puts every endpoint of a tenant in one bucket instead (the simulator's older, stricter model, which
  the benchmarks keep so their rate bound stays "calls / rate");
- an hourly **points quota** per tenant (`jira-quota-tenant-based`, Tier 2);
- an hourly **points pool** shared by every tenant of one app (`jira-quota-global-based`, Tier 1).

Points quotas apply to app traffic (OAuth 2.0 bearer tokens) only; API-token traffic has burst limits
only. A request costs a base point plus points per object returned (+1 per issue or project, +2 per
user; writes the base only). Answers under a points quota carry `X-RateLimit-Limit`, `-Remaining`,
`-Reset` (ISO 8601) and, under 20% left, `X-RateLimit-NearLimit: true`.

One simulator serves several sites: a request under `/ex/jira/{cloudId}/...` (the documented OAuth API
base, so the client's URLs stay real) is the tenant `cloudId`; any other path is the tenant `site`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BURST = "jira-burst-based"
TENANT_QUOTA = "jira-quota-tenant-based"
GLOBAL_QUOTA = "jira-quota-global-based"
DEFAULT_TENANT = "site"
NEAR_LIMIT_FRACTION = 0.2  # documented: NearLimit once under 20% of the quota is left
_TENANT_PREFIX = re.compile(r"^/ex/jira/(?P<cloud>[^/]+)(?P<rest>/.*)$")


def split_tenant(path: str) -> tuple[str, str]:
    """`/ex/jira/{cloudId}/rest/...` -> (cloudId, `/rest/...`); any other path is the default tenant."""
    m = _TENANT_PREFIX.match(path)
    if m is None:
        return DEFAULT_TENANT, path
    return m.group("cloud"), m.group("rest")


def points_cost(method: str, path: str, payload: Any) -> int:
    """The documented cost model: a base point, plus per object returned (+1 per issue or project,
    +2 per user); writes (anything but GET and the read-only POSTs) cost the base only."""
    read_posts = ("/search/jql", "/search/approximate-count", "/changelog/bulkfetch")
    if method != "GET" and not path.endswith(read_posts):
        return 1
    objects = 0
    if isinstance(payload, list) and "/user" in path:
        objects = 2 * len(payload)  # users/search answers a bare array of users
    elif isinstance(payload, dict):
        if isinstance(payload.get("issues"), list):
            objects = len(payload["issues"])
        elif isinstance(payload.get("issueChangeLogs"), list):
            # An issue's histories may come in several entries: the object is the issue.
            objects = len({e.get("issueId") for e in payload["issueChangeLogs"] if isinstance(e, dict)})
        elif "/project" in path and isinstance(payload.get("values"), list):
            objects = len(payload["values"])
        elif "/user" in path and isinstance(payload.get("values"), list):
            objects = 2 * len(payload["values"])
    return 1 + objects


@dataclass(frozen=True)
class SiteLimits:
    """One tenant's limits; None switches a limit off."""

    burst_per_second: float | None = None
    burst_scope: str = "endpoint"  # "endpoint": per endpoint and method, as documented; or "site"
    points_per_hour: int | None = None  # the tenant's own quota (Tier 2)
    app: str | None = None  # the app pool (Tier 1) this tenant's OAuth traffic draws on
    quota_window_s: float = 3600.0  # shorter in tests and benchmarks; the reset is the window's end


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class _Quota:
    limit: int
    window_s: float
    window_start: float = -math.inf
    spent: int = 0

    def roll(self, now: float) -> None:
        # A window opens at the first request after the last one closed (Atlassian does not publish
        # the alignment; anchoring at first use makes short test windows deterministic).
        if now >= self.window_start + self.window_s:
            self.window_start, self.spent = now, 0

    @property
    def reset_at(self) -> float:
        return self.window_start + self.window_s

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)


@dataclass(frozen=True)
class Refusal:
    """A 429 the limits answer instead of the request."""

    reason: str
    headers: dict[str, str]


@dataclass
class RateLimits:
    """Every tenant's buckets and quotas; thread-safe. `clock` is wall time (resets are ISO dates)."""

    default: SiteLimits = field(default_factory=SiteLimits)
    sites: dict[str, SiteLimits] = field(default_factory=dict)
    app_pools: dict[str, int] = field(default_factory=dict)  # app -> points per hour (Tier 1)
    app_window_s: float = 3600.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._quotas: dict[str, _Quota] = {}
        self._pools: dict[str, _Quota] = {}
        self.refusals: list[tuple[str, str, float]] = []  # (tenant, reason, at)

    def limits_for(self, tenant: str) -> SiteLimits:
        return self.sites.get(tenant, self.default)

    def configure(self, tenant: str, limits: SiteLimits) -> None:
        with self._lock:
            self.sites[tenant] = limits
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != tenant}
            self._quotas.pop(tenant, None)

    def spend(self, tenant: str, points: int) -> None:
        """Points spent on the tenant's quota by another client of the site (another app or
        integration): how a test runs the quota out mid-sync without our own pacing in the way."""
        limits = self.limits_for(tenant)
        with self._lock:
            quota = self._tenant_quota(tenant, limits)
            if quota is not None:
                quota.roll(self.clock())
                quota.spent += points

    def quota_reset_at(self, tenant: str) -> float | None:
        """When the tenant's current quota window closes (None without a quota, or before its first use)."""
        with self._lock:
            quota = self._quotas.get(tenant)
            return quota.reset_at if quota is not None and quota.window_start > -math.inf else None

    def admit(self, tenant: str, method: str, endpoint: str, *, oauth: bool) -> Refusal | None:
        """None if the request may be answered; otherwise the 429 to send. Quotas are checked
        before the burst bucket, so a refused request spends no burst token."""
        limits = self.limits_for(tenant)
        now = self.clock()
        with self._lock:
            refusal = self._quota_refusal(tenant, limits, now) if oauth else None
            if refusal is None:
                refusal = self._burst_refusal(tenant, limits, method, endpoint, now)
            if refusal is not None:
                self.refusals.append((tenant, refusal.reason, now))
            return refusal

    def charge(self, tenant: str, method: str, path: str, payload: Any, *, oauth: bool) -> dict[str, str]:
        """Spend an answered request's points; the quota headers to send with it (none off quota)."""
        limits = self.limits_for(tenant)
        if not oauth:
            return {}
        now = self.clock()
        cost = points_cost(method, path, payload)
        with self._lock:
            quotas = [q for q in (self._tenant_quota(tenant, limits), self._app_pool(limits)) if q]
            for quota in quotas:
                quota.roll(now)
                quota.spent += cost
        if not quotas:
            return {}
        tight = min(quotas, key=lambda q: q.remaining / q.limit)
        headers = {
            "X-RateLimit-Limit": str(tight.limit),
            "X-RateLimit-Remaining": str(tight.remaining),
            "X-RateLimit-Reset": iso(tight.reset_at),
        }
        if tight.remaining < NEAR_LIMIT_FRACTION * tight.limit:
            headers["X-RateLimit-NearLimit"] = "true"
        return headers

    # ---- internals (called under the lock) -------------------------------------------------
    def _tenant_quota(self, tenant: str, limits: SiteLimits) -> _Quota | None:
        if not limits.points_per_hour:
            return None
        quota = self._quotas.get(tenant)
        if quota is None:
            quota = self._quotas[tenant] = _Quota(limits.points_per_hour, limits.quota_window_s)
        return quota

    def _app_pool(self, limits: SiteLimits) -> _Quota | None:
        if not limits.app or limits.app not in self.app_pools:
            return None
        pool = self._pools.get(limits.app)
        if pool is None:
            pool = self._pools[limits.app] = _Quota(self.app_pools[limits.app], self.app_window_s)
        return pool

    def _quota_refusal(self, tenant: str, limits: SiteLimits, now: float) -> Refusal | None:
        for reason, quota in (
            (GLOBAL_QUOTA, self._app_pool(limits)),
            (TENANT_QUOTA, self._tenant_quota(tenant, limits)),
        ):
            if quota is None:
                continue
            quota.roll(now)
            if quota.remaining <= 0:
                wait = max(1, math.ceil(quota.reset_at - now))
                return Refusal(reason, _refusal_headers(wait, quota.limit, quota.reset_at, reason))
        return None

    def _burst_refusal(
        self, tenant: str, limits: SiteLimits, method: str, endpoint: str, now: float
    ) -> Refusal | None:
        rate = limits.burst_per_second
        if not rate:
            return None
        key = (tenant,) if limits.burst_scope == "site" else (tenant, method, endpoint)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(rate), at=now)
        bucket.tokens = min(float(rate), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        # Retry-After is whole seconds; retrying early earns another 429.
        wait = max(1, math.ceil((1.0 - bucket.tokens) / rate))
        return Refusal(BURST, _refusal_headers(wait, int(rate), now + wait, BURST))


def _refusal_headers(wait_s: int, limit: int, reset_at: float, reason: str) -> dict[str, str]:
    return {
        "Retry-After": str(wait_s),
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": iso(reset_at),
        "RateLimit-Reason": reason,
    }


def iso(at: float) -> str:
    """An ISO 8601 UTC instant, as X-RateLimit-Reset carries it."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
