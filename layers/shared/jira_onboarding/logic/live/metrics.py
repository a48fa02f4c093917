"""Metrics and insights after live changes, debounced per team.

A change asks for a recompute; the first ask of a quiet spell schedules one (a delayed message on
the live-updates queue), later asks find it scheduled and add nothing: a burst of 1,000 events
recomputes once. A recompute is due `LIVE_METRICS_SETTLE_SECONDS` after the change that scheduled it
and never sooner than `LIVE_METRICS_INTERVAL_SECONDS` (at most 300) after the previous one, so a
change is reflected within about 5 minutes and a team costs at most one recompute per interval.
"""

from __future__ import annotations

import time

from jira_onboarding.contracts import StepInput
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live import queue
from jira_onboarding.logic.live.events import LiveMessage
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

LIVE_RUN_ID = "live"


def request_refresh(team_id: str, now: float) -> float | None:
    """After a change: schedule a recompute unless one is scheduled. Returns its due time if this
    call scheduled it."""
    settings = get_settings()
    due = LiveStore(team_id).schedule_metrics(
        now, settings.live_metrics_interval_s, settings.live_metrics_settle_s
    )
    if due is not None:
        queue.send(LiveMessage(kind="refresh_metrics", team_id=team_id), delay_s=due - now)
    return due


def run_scheduled(team_id: str, *, now: float | None = None) -> str:
    """The delayed message arrived: recompute if due (exactly once), wait more if early."""
    from jira_onboarding.logic.metrics.compute import compute_metrics

    now = time.time() if now is None else now
    live = LiveStore(team_id)
    due = live.metrics_due_at()
    if due is None:
        return "nothing scheduled"
    if due > now:
        queue.send(LiveMessage(kind="refresh_metrics", team_id=team_id), delay_s=due - now)
        return "not due yet"
    if not live.claim_metrics(now):
        return "taken by another consumer"
    try:
        summary = compute_metrics(StepInput(team_id=team_id, run_id=LIVE_RUN_ID))
    except Exception:
        # Due again at once: the redelivered message (this record fails) finds it due.
        live.schedule_metrics(now, 0, 0)
        raise
    _recount_stored(team_id)
    logger.info("Metrics refreshed after live changes", extra={"snapshot_id": summary.snapshot_id})
    return "metrics refreshed"


def _recount_stored(team_id: str) -> None:
    """Live creations and deletions change what the store holds: the page's count per project is
    brought up to date with the recompute (debounced like it, one count Query per project). A
    project a sync is running for is left to that run, which sets the count as it completes."""
    from jira_onboarding.dal.team import TeamStores
    from jira_onboarding.records import SyncStatus

    repo = TeamStores(team_id)
    for project in repo.projects.list_tracked():
        if project.selected and project.sync_status == SyncStatus.COMPLETE:
            repo.projects.set_issues_stored(project.project_key, repo.issues.count(project.project_key))
