"""Pace one client from its site's shared bucket, and act on Jira's rate-limit headers at the scope
their reason names (JIRA_API_NOTES.md, "Rate limits"):

- `X-RateLimit-NearLimit: true`: the site slows down to what its remaining points allow until the
  reset, before any 429;
- 429 `jira-burst-based` (or no reason): that endpoint only waits out its `Retry-After`;
- 429 `jira-quota-tenant-based`: the whole site pauses until `X-RateLimit-Reset`; every Lambda on it
  learns so from its next reservation and hands the wait to the state machine without calling Jira;
- 429 `jira-quota-global-based`: all of the app's OAuth traffic pauses.

When a pause ends, one call goes first: the probe (`probe.py`).

Slots are taken from DynamoDB in blocks (one conditional write per block, `dal/site_budget.py`), and
unused slots are given back at the end. Onboarding (a person is waiting) reserves at once; a nightly
refresh or a live-update fetch only when the site is not backlogged, so onboarding goes first.

One client (so one pacer) may serve several threads of a step (the planner counts its projects on
four): the pacer's slots, state and counters change under one lock, released before a thread waits
for its slot (a refresh waiting for a backlogged site to drain holds it: its siblings wait the same).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any

import httpx

from jira_onboarding.budget.probe import PROBE_POLL_S, Probe
from jira_onboarding.budget.site import app_key, endpoint_of, points_cost, site_key
from jira_onboarding.dal.site_budget import Reservation, SiteBudgetStore, SiteState
from jira_onboarding.errors import JiraThrottledError
from jira_onboarding.jira.responses import (
    GLOBAL_QUOTA,
    MIN_RETRY_AFTER_S,
    RATE_LIMIT_REASON,
    TENANT_QUOTA,
    header_number,
    reset_epoch,
    retry_after_seconds,
)
from jira_onboarding.settings import get_settings

RESET_MARGIN_S = 1.0  # resume a little after the announced reset: early requests earn a longer wait
APP_STATE_MAX_AGE_S = 2.0  # how stale the app-wide pause may be (read once per that, not per call)
TYPICAL_POINTS_PER_CALL = 50.0  # before this client has measured its own (search pages cost ~101)


class Priority(Enum):
    """Who waits for the calls: onboarding (a person) goes before refreshes and live updates."""

    ONBOARDING = "onboarding"
    REFRESH = "refresh"


class SitePacer:
    """The `Pacer` of one JiraClient on one site (see `jira.pacing.Pacer`)."""

    def __init__(
        self,
        store: SiteBudgetStore,
        site: str,
        *,
        rate: float,
        priority: Priority = Priority.ONBOARDING,
        app: str | None = None,
        max_wait_s: float = 30.0,
        max_slow_wait_s: float = 5.0,
        background_backlog_s: float = 1.0,
        max_burst_pause_s: float = 60.0,
        time_left_s: Callable[[], float] | None = None,
        record: Callable[[int, int], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self.site = site
        self._rate = rate
        # A block covers ~0.1 s of the site's rate (one slot at 10 req/s, ten at 100 req/s): the item
        # takes ~10 writes/s whatever the rate, far below a partition's 1,000, and a block held by
        # one of many waiting Lambdas keeps the queue short.
        self._block = max(1, round(rate * 0.1))
        self._priority = priority
        self._app = app
        self._max_wait_s = max_wait_s  # for a slot on a busy site: short by construction
        self._max_slow_wait_s = max_slow_wait_s  # in all, for slots spaced out near a quota
        self._slow_waited = 0.0
        self._background_backlog_s = background_backlog_s
        self._max_burst_pause_s = max_burst_pause_s
        self._time_left_s = time_left_s or (lambda: math.inf)
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[float] = deque()
        self._reservation: Reservation | None = None
        self._state = SiteState()
        self._app_state = SiteState()
        self._app_read_at = -math.inf
        self.calls = 0
        self.points = 0
        self._flushed = (0, 0)
        self._record = record  # (calls, points) -> None: the run's own account of its cost
        self._under_quota = False  # answers carry X-RateLimit-Remaining: cost-based limiting applies
        self._lock = threading.Lock()  # held by before, after and close; the helpers run under it
        self._probe = Probe(store, self._lock)

    # ---- before each request ------------------------------------------------------------------
    def before(self, method: str, path: str) -> None:
        endpoint = endpoint_of(method, path)
        with self._lock:  # the slot is this thread's once popped; the wait for it is outside
            self._probe.await_sibling()
            now = self._clock()
            self._check_paused(now)
            if not self._slots:
                self._reserve(now)
            slot = self._slots.popleft()
            self._probe.sending()
            until = max(slot, self._state.endpoint_pauses.get(endpoint, 0.0))
            wait = until - self._clock()
            if wait > 0 and self._state.slow_until > now:
                # Paced down near a quota: seconds between calls. Past the inline allowance the wait
                # goes to the state machine (a Wait state costs nothing), and the slot back to the site.
                if self._slow_waited + wait > self._max_slow_wait_s:
                    self._slots.appendleft(slot)
                    self._give_back()
                    self._probe.release()
                    raise JiraThrottledError(
                        "Jira's quota is nearly spent; pacing down.", retry_after=wait, held=True
                    )
                self._slow_waited += wait
        try:
            self._wait(wait)
        except JiraThrottledError:
            with self._lock:
                self._slots.appendleft(slot)  # handed to the state machine: the slots go back
                self._give_back()
                self._probe.release()
            raise

    def _check_paused(self, now: float) -> None:
        """Raise while a quota pause lasts. Once it has ended, this call is the probe if it can claim
        it; otherwise its slots go back (they would all fall due at once) and it waits for the
        other's answer: the caller books again."""
        if self._app and now - self._app_read_at >= APP_STATE_MAX_AGE_S:
            self._app_state, self._app_read_at = self._store.state(self._app), now
        for key, state in self._pause_states():
            if state.paused_until > now:
                raise _paused(state, now)
            if state.paused_until and self._probe.claimed != (key, state.paused_until):
                self._await_probe(key, state.paused_until, now)

    def _pause_states(self) -> list[tuple[str, SiteState]]:
        states = [(self.site, self._state)]
        if self._app:
            states.append((self._app, self._app_state))
        return states

    def _set_state(self, key: str, state: SiteState, now: float) -> None:
        if key == self.site:
            self._state = state
        else:
            self._app_state, self._app_read_at = state, now

    def _await_probe(self, key: str, ended: float, now: float) -> None:
        if self._probe.claim(key, ended, now):
            return  # this call is the probe: its slot stands
        self._give_back()
        while True:
            # Another Lambda's call is the probe: its answer says whether the quota's window opened.
            state = self._store.state(key)
            self._set_state(key, state, now)
            if state.paused_until > now:
                raise _paused(state, now)
            if state.paused_until != ended:
                return  # the probe was answered: book again
            self._wait(PROBE_POLL_S)
            now = self._clock()
            if self._probe.claim(key, ended, now):
                return  # the other's probe lapsed: this call is the probe now, booked again

    def _interval(self, now: float) -> float:
        rate = self._rate
        if self._state.slow_rate and self._state.slow_until > now:
            rate = min(rate, self._state.slow_rate)
        return 1.0 / rate

    def _reserve(self, now: float) -> None:
        while True:
            now = self._book(now)
            try:
                self._check_paused(now)  # learnt from this booking's answer: the slots go back
            except JiraThrottledError:
                self._give_back()
                raise
            if self._slots:
                return
            now = self._clock()  # another Lambda probed an ended pause meanwhile: book again

    def _book(self, now: float) -> float:
        """Take slots for this client; the time it booked at."""
        # Never book further ahead than this client waits inline: a booking handed to the state
        # machine goes back only while it is the site's last (GCRA), so Lambdas that booked and
        # then waited in the state machine each pushed the site's next slot out, and the site ended
        # booked minutes past a quota's reset. Onboarding may wait its whole allowance; a refresh
        # books only an idle site (onboarding goes first).
        onboarding = self._priority is Priority.ONBOARDING
        waited = 0.0
        while True:
            slowed = self._state.slow_until > now
            backlog = self._max_wait_s if onboarding else self._background_backlog_s
            if slowed:  # paced down near a quota, slots are seconds apart
                backlog = min(backlog, self._max_slow_wait_s)
            # Under a points quota, one slot per reservation: every call then reads the site's state,
            # so a pause another Lambda recorded stops this one before its next call, not ten later.
            # Quotas allow few calls anyway (65,000 points/hour is ~0.2 search pages a second).
            # Slowed, one slot too: a block of ten at the slow interval booked the site minutes ahead
            # (a fresh Lambda learns of the slowdown from its first booking, before any answer).
            block = 1 if self._under_quota or slowed else self._block
            interval = self._interval(now)
            reservation = self._store.reserve(self.site, block, interval, now, max_backlog=backlog)
            if reservation is not None:
                self._take(reservation, now)
                if self._interval(now) <= interval + 1e-9:
                    return now
                # The site was slowed meanwhile (NearLimit, seen by another Lambda): these slots are
                # spaced too closely. Give them back and book at the slower rate.
                self._give_back()
                continue
            if slowed:
                raise JiraThrottledError(
                    "Jira's quota is nearly spent; pacing down.", retry_after=self._interval(now), held=True
                )
            if onboarding:  # booked further ahead than this client waits: until the queue drains
                booked_until = self._store.state(self.site).booked_until
                raise JiraThrottledError(
                    "This site's Jira budget is booked ahead.",
                    retry_after=max(1.0, booked_until - now),
                    held=True,
                )
            # A background call on a backlogged site: let onboarding's calls go first.
            if waited >= self._max_wait_s:
                raise JiraThrottledError(
                    "This site's Jira budget is busy with onboarding; the refresh waits.",
                    retry_after=self._max_wait_s,
                    held=True,
                )
            self._wait(1.0)
            waited += 1.0
            now = self._clock()

    def _take(self, reservation: Reservation, now: float) -> None:
        self._state = reservation.state
        self._reservation = reservation
        self._slots.extend(reservation.first + i * reservation.interval for i in range(reservation.count))

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if seconds > min(self._max_wait_s, self._time_left_s() - 5.0):
            raise JiraThrottledError(
                "This site's Jira budget is booked ahead.", retry_after=seconds, held=True
            )
        self._sleep(seconds)

    # ---- after each answer --------------------------------------------------------------------
    def after(self, response: httpx.Response, payload: Any = None) -> None:
        with self._lock:
            self._after(response, payload)

    def _after(self, response: httpx.Response, payload: Any) -> None:
        request = response.request
        now = self._clock()
        self.calls += 1
        if response.status_code != 429:
            self.points += points_cost(
                request.method, request.url.path, payload if response.is_success else None
            )
        headers = response.headers
        probed = self._probe.answered()
        if probed is not None:
            self._probe_done(probed, response, now)
        if not self._under_quota and response.is_success and "X-RateLimit-Remaining" in headers:
            self._under_quota = True
            self._give_back()  # the rest of the block would go out without reading the site's state
        if response.status_code == 429:
            self._throttled(endpoint_of(request.method, request.url.path), headers, now)
        elif headers.get("X-RateLimit-NearLimit", "").lower() == "true":
            self._near_limit(headers, now)

    def _probe_done(self, probed: tuple[str, float], response: httpx.Response, now: float) -> None:
        """The probe's answer: any but a quota's 429 says the window is open (a 429 records the
        next pause in `_throttled`, which also frees the claim)."""
        key, ended = probed
        reason = response.headers.get(RATE_LIMIT_REASON, "")
        if response.status_code == 429 and reason in (TENANT_QUOTA, GLOBAL_QUOTA):
            return
        self._store.end_pause(key, ended)
        for state_key, state in self._pause_states():
            if state_key == key and state.paused_until == ended:
                self._set_state(key, replace(state, paused_until=0.0, pause_reason=None), now)

    def _throttled(self, endpoint: str, headers: httpx.Headers, now: float) -> None:
        reason = headers.get(RATE_LIMIT_REASON, "")
        # Sanitized as the client reads it (inf, NaN, negative, absurd: clamped to [1 s, 1 h]).
        retry_after = retry_after_seconds(headers.get("Retry-After")) or MIN_RETRY_AFTER_S
        if reason in (TENANT_QUOTA, GLOBAL_QUOTA):
            until = (
                max(reset_epoch(headers.get("X-RateLimit-Reset")) or 0.0, now + retry_after) + RESET_MARGIN_S
            )
            key = self._app if reason == GLOBAL_QUOTA and self._app else self.site
            self._store.pause_site(key, until, reason)
            paused = SiteState(paused_until=until, pause_reason=reason)
            if key == self.site:
                self._state = paused
            else:
                self._app_state, self._app_read_at = paused, now
            self._slots.clear()
        elif reason != "jira-per-issue-on-write":
            # A burst bucket refills in seconds: a longer Retry-After is taken as this bound and
            # learned again from the next 429, so one broken answer cannot stop the endpoint site-wide.
            until = now + min(retry_after, self._max_burst_pause_s)
            self._store.pause_endpoint(self.site, endpoint, until)
            pauses = {**self._state.endpoint_pauses, endpoint: until}
            self._state = SiteState(**{**self._state.__dict__, "endpoint_pauses": pauses})

    def _near_limit(self, headers: httpx.Headers, now: float) -> None:
        remaining = header_number(headers.get("X-RateLimit-Remaining"))
        reset = reset_epoch(headers.get("X-RateLimit-Reset"))
        if remaining is None or reset is None or reset <= now:
            return
        per_call = self.points / self.calls if self.calls and self.points else TYPICAL_POINTS_PER_CALL
        rate = max(0.05, remaining / (reset - now) / per_call)
        state = self._state
        if state.slow_rate and state.slow_until >= reset and state.slow_rate <= rate * 1.1:
            return  # already slowed at least this much
        self._store.slow_down(self.site, rate, reset)
        self._state = SiteState(**{**state.__dict__, "slow_rate": rate, "slow_until": reset})

    # ---- at the end ---------------------------------------------------------------------------
    def close(self) -> None:
        """Give unused slots back and record what the calls cost."""
        with self._lock:
            self._give_back()
            self._probe.release()
            calls, points = self.calls - self._flushed[0], self.points - self._flushed[1]
            if calls:
                self._store.add_spent(self.site, calls, points)
                if self._record is not None:
                    self._record(calls, points)
                self._flushed = (self.calls, self.points)

    def _give_back(self) -> None:
        reservation = self._reservation
        if reservation is not None and self._slots:
            end = reservation.first + reservation.count * reservation.interval
            self._store.give_back(self.site, end, len(self._slots), reservation.interval)
            self._slots.clear()


def _paused(state: SiteState, now: float) -> JiraThrottledError:
    """What a call learns while its site's (or app's) quota pause lasts: the wait, ours to hold."""
    return JiraThrottledError(
        f"Jira paused this site's calls until its quota resets ({state.pause_reason}).",
        retry_after=state.paused_until - now,
        held=True,
    )


def site_pacer(
    credentials: Any,
    *,
    priority: Priority,
    time_left_s: Callable[[], float] | None = None,
    record: Callable[[int, int], None] | None = None,
) -> SitePacer | None:
    """The pacer of a client of `credentials`' site, or None when no budget table is configured."""
    settings = get_settings()
    if not settings.tables.jira_site_budgets:
        return None
    return SitePacer(
        SiteBudgetStore(settings.tables.jira_site_budgets),
        site_key(credentials.base_url),
        rate=settings.jira_site_requests_per_second,
        priority=priority,
        app=app_key(credentials.auth_kind),
        max_burst_pause_s=settings.jira_max_burst_pause_s,
        time_left_s=time_left_s,
        record=record,
        max_slow_wait_s=settings.jira_max_inline_wait_s,
    )
