"""What a step hands to its Wait For Jira state when Jira (or the site's budget) throttles it, and
how long a run waits in all before the step gives up (the nightly retry runs it again)."""

from __future__ import annotations

import math

from jira_onboarding.errors import JiraThrottledError
from jira_onboarding.jira.responses import MAX_RETRY_AFTER_S

# Real time a project may spend throttled by Jira (its 429s: Wait For Jira and the throttled calls)
# in one run before it is FAILED: bounded, so the run always finishes; the nightly retry runs it again.
MAX_THROTTLED_SECONDS = 4 * 3600
# ... and held by its site's budget (no call made: another client's 429 paused the site or an
# endpoint, or the site is booked ahead). Counted apart, so one project's hostile 429s spend its own
# allowance, not its neighbours'; bounded too (a quota pause is at most an hour each).
MAX_HELD_SECONDS = 8 * 3600


def handed_wait_seconds(exc: JiraThrottledError) -> int:
    """The whole seconds a Wait For Jira state waits for `exc` (its Retry-After, sanitized)."""
    retry_after = exc.retry_after if exc.retry_after is not None and math.isfinite(exc.retry_after) else 1.0
    return max(1, math.ceil(min(MAX_RETRY_AFTER_S, retry_after)))
