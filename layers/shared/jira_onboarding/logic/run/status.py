"""The progress of a run, as the onboarding page polls it."""

from __future__ import annotations

from datetime import UTC, datetime

from jira_onboarding.contracts import (
    CurrentRunResponse,
    LiveUpdatesStatus,
    ProjectProgress,
    RunStatusResponse,
)
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.run.ids import status_url
from jira_onboarding.records import RunStatus, SyncStatus, TrackedProject

# What a poll reads of each project: not its plan (`segments`, a JQL query per segment), which the
# page never shows and which would be read and parsed twice a second for as long as the run lasts.
PROGRESS_ATTRIBUTES = (
    "sync_status",
    "phase",
    "sync_mode",
    "issues_fetched",
    "issues_stored",
    "issues_previewed",
    "issues_total_estimate",
    "reason",
    "next_retry_at",
    "updated_at",
)


def to_iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def shown_issues(project: TrackedProject) -> int:
    """The issues the page shows as stored: while a full sync runs (or after it failed) the ones it
    fetched and stored so far, otherwise what the store holds (an incremental run changes that
    count only when it completes)."""
    if project.sync_mode != "full" or project.sync_status not in (SyncStatus.SYNCING, SyncStatus.FAILED):
        return project.issues_stored
    if project.sync_status == SyncStatus.FAILED:
        return project.issues_fetched
    # A first sync stores its first page before that page's batch commits; the committed count
    # includes the page once the batch lands, so the larger of the two never counts an issue twice.
    return max(project.issues_fetched, project.issues_previewed or 0)


def _progress(project: TrackedProject, live: tuple[int, datetime | None] = (0, None)) -> ProjectProgress:
    total = project.issues_total_estimate
    stored = shown_issues(project)
    percent = None
    if project.sync_status == SyncStatus.COMPLETE:
        percent = 100
    elif total:
        percent = min(99, int(100 * stored / total))
    elif total == 0:
        percent = 0
    return ProjectProgress(
        project_key=project.project_key,
        status=project.sync_status.value,
        phase=project.phase if project.sync_status == SyncStatus.SYNCING else None,
        issues_stored=stored,
        issues_total_estimate=total,
        percent=percent,
        reason=project.reason if project.sync_status == SyncStatus.FAILED else None,
        next_retry_at=to_iso(project.next_retry_at) if project.sync_status == SyncStatus.FAILED else None,
        updated_at=to_iso(project.updated_at),
        live_events_applied=live[0],
        last_live_event_at=to_iso(live[1]),
    )


def get_run_status(team_id: str, run_id: str) -> RunStatusResponse:
    repo = TeamStores(team_id)
    run = repo.runs.get(run_id)
    if run is None:
        # Another team's run id reads exactly like one that does not exist.
        raise OnboardingRequestError(f"No onboarding run {run_id!r} for this team.", status=404)
    tracked = repo.projects.among(run.project_keys, attributes=PROGRESS_ATTRIBUTES)
    from jira_onboarding.dal.live import LiveStore  # lazy: cold starts

    live = LiveStore(team_id).project_events()
    projects = [_progress(project, live.get(project.project_key, (0, None))) for project in tracked]
    end = run.finished_at or datetime.now(UTC)
    return RunStatusResponse(
        run_id=run.run_id,
        status=run.status.value,
        started_at=to_iso(run.started_at),
        finished_at=to_iso(run.finished_at),
        elapsed_seconds=round((end - run.started_at).total_seconds(), 3) if run.started_at else None,
        done=run.status != RunStatus.RUNNING,
        users=run.users_summary,
        users_error=run.users_error,
        reason=run.reason,
        projects=projects,
        live_updates=live_status(team_id),
        jira_calls=run.jira_calls,
        jira_points=run.jira_points,
    )


def get_current_run(team_id: str) -> CurrentRunResponse:
    """The team's newest run: the one in progress if any (a new selection supersedes the one
    before), else the last one."""
    run = TeamStores(team_id).runs.latest()
    if run is None:
        raise OnboardingRequestError("This team has started no onboarding run yet.", status=404)
    return CurrentRunResponse(
        run_id=run.run_id,
        status=run.status.value,
        status_url=status_url(run.run_id),
        done=run.status != RunStatus.RUNNING,
        project_keys=run.project_keys,
        started_at=to_iso(run.started_at),
        finished_at=to_iso(run.finished_at),
    )


def live_status(team_id: str) -> LiveUpdatesStatus:
    """Whether live updates are on, the last event applied, and when the registration expires."""
    from jira_onboarding.dal.live import LiveStore  # lazy: cold starts

    status = LiveStore(team_id).status()
    return LiveUpdatesStatus(
        enabled=status.enabled,
        last_event_at=to_iso(status.last_event_at),
        registration_expires_at=to_iso(status.registration_expires_at),
        events_applied=status.events_applied,
        events_dropped=status.events_dropped,
    )
