"""Daily: queue one personal data report per due team (an OAuth connection reported 7 days ago).

Bounded and resumable: the connections are scanned a page at a time; when the invocation's time
runs short, the scan's cursor goes on the queue as a `dispatch` message and the reporter carries
on from it. API-token connections are not an app's and never report: counted, one log line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from jira_onboarding.dal.privacy import report_states_page
from jira_onboarding.logic.privacy.queue import PrivacyMessage, send, send_teams
from jira_onboarding.logic.privacy.report import REPORTING_AUTH_KINDS, is_due
from jira_onboarding.observability import MetricUnit, logger, metrics

SCAN_PAGE = 100
TIME_RESERVE_S = 10.0


class DispatchSummary(BaseModel):
    queued: int = 0
    not_due: int = 0
    not_oauth: int = 0
    continued: bool = False


def dispatch_reports(
    cursor: dict[str, Any] | None = None,
    *,
    time_left_s: Callable[[], float],
    now: datetime | None = None,
) -> DispatchSummary:
    """Queue a `team` message for every due team from `cursor` (None: the first page)."""
    now = now or datetime.now(UTC)
    summary = DispatchSummary()
    while True:
        states, cursor = report_states_page(cursor, SCAN_PAGE)
        due: list[str] = []
        for state in states:
            if state.auth_kind not in REPORTING_AUTH_KINDS:
                summary.not_oauth += 1
            elif is_due(state, now):
                due.append(state.team_id)
            else:
                summary.not_due += 1
        send_teams(due)
        summary.queued += len(due)
        if cursor is None:
            break
        if time_left_s() < TIME_RESERVE_S:
            send(PrivacyMessage(kind="dispatch", cursor=cursor))
            summary.continued = True
            break
    metrics.add_metric(name="PersonalDataReportsQueued", unit=MetricUnit.Count, value=summary.queued)
    logger.info(
        "Personal data reports queued; API-token connections skipped (not an app's)",
        extra=summary.model_dump(),
    )
    return summary
