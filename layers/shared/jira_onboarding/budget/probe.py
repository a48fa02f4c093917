"""When a quota pause ends, one call goes first: the probe. The first Lambda to book a slot after the
reset claims it (a conditional write on the site's item, `SiteBudgetStore.claim_probe`); the others
wait inline, reading the item every quarter second, until its answer clears the pause (they then
book as usual) or records the next one (they hand that wait to the state machine). So a reset that
Jira announced too early costs one 429, not one per Lambda that woke for it.

Threads of one client (the planner counts its projects on four) share its claim: the thread whose
call is the probe is named, and its siblings wait for the answer on the pacer's lock's condition.
"""

from __future__ import annotations

import threading
import time

from jira_onboarding.dal.site_budget import SiteBudgetStore

PROBE_POLL_S = 0.25  # how often a Lambda waiting for another's probe reads the site's item
PROBE_TIMEOUT_S = 10.0  # a probe unanswered this long (its Lambda crashed, its call hung) lapses


class Probe:
    """One client's probe: the ended pause it claimed (`key`, end), and the thread whose call it is.
    Every method runs under the client's lock, the one `lock` names."""

    def __init__(self, store: SiteBudgetStore, lock: threading.Lock) -> None:
        self._store = store
        self.claimed: tuple[str, float] | None = None
        self._thread: int | None = None
        self._answered = threading.Condition(lock)

    def claim(self, key: str, ended: float, now: float) -> bool:
        if self._store.claim_probe(key, ended, now, stale_before=now - PROBE_TIMEOUT_S):
            self.claimed = (key, ended)
        return self.claimed == (key, ended)

    def await_sibling(self) -> None:
        """Another thread of this client sent the probe: wait for its answer (the wait lets go of
        the lock). The probing thread itself calling again means its call got no answer: it goes."""
        me = threading.get_ident()
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while self._thread is not None and self._thread != me:
            left = deadline - time.monotonic()
            if left <= 0:
                self.claimed, self._thread = None, None  # lapsed: the site's claim lapses too
                return
            self._answered.wait(min(left, PROBE_POLL_S))
        self._thread = None

    def sending(self) -> None:
        """This thread's call is about to go: if the client holds a claim, it is the probe."""
        if self.claimed is not None:
            self._thread = threading.get_ident()

    def answered(self) -> tuple[str, float] | None:
        """This thread's answer came: the pause it probed, if its call was the probe."""
        if self.claimed is None or self._thread != threading.get_ident():
            return None
        probed, self.claimed, self._thread = self.claimed, None, None
        self._answered.notify_all()
        return probed

    def release(self) -> None:
        """The claimed probe was not sent after all: another Lambda may probe at once."""
        if self.claimed is not None:
            self._store.release_probe(*self.claimed)
            self.claimed, self._thread = None, None
            self._answered.notify_all()
