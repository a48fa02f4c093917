"""One team's night: re-run failed and stuck projects, refresh complete ones incrementally.

The plan's promise is "no user-facing errors on sync failure, silent retry in a nightly batch":
every selected project of every team is looked at once a night. FAILED ones and those left
PENDING/SYNCING past a threshold run again; COMPLETE ones get an incremental refresh (issues updated
since their last sync, which costs one search call when nothing changed) and, once a week, an
id-only sweep that marks issues deleted in Jira.

The fan-out is one EventBridge Scheduler schedule per team (logic/nightly/schedules.py), so no
invocation reads or starts more than one team. The run id is derived from the team and the
schedule's nominal time (the same for every retry of one night), and it is claimed with a
conditional write before anything else: a repeated start the same night is refused, not run twice.
A start that fails leaves the projects as they were (or PENDING under a QUEUED run), and the next
night's schedule starts them again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.run.start import launch_run
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import RunStatus, SyncStatus, TrackedProject

STUCK_AFTER = timedelta(hours=1)


class NightlyStartError(RuntimeError):
    """Step Functions did not start a team's nightly execution (throttled, a quota)."""


class NightlyResult(BaseModel):
    teams: int
    projects: int
    runs: dict[str, str] = Field(default_factory=dict)  # team -> run id
    skipped_in_progress: int = 0
    refused_repeat: bool = False  # this team's night had been started already
    skipped_reconnect: bool = False  # the team's OAuth grant is gone: nothing runs until it reconnects


def nightly_run_id(team_id: str, scheduled_time: datetime) -> str:
    """The run (and execution) name of a team's night: deterministic, in the format of
    `run_ids.new_run_id` (so it sorts by its time among the team's runs; 'n' marks the hash of a
    nightly one), and valid as an execution name whatever characters the team id has."""
    night = scheduled_time.astimezone(UTC)
    digest = hashlib.sha256(f"{team_id}|nightly|{night.isoformat()}".encode()).hexdigest()
    return f"run-{night:%Y%m%dT%H%M%S%f}-n{digest[:7]}"


def _in_progress(project: TrackedProject, run_status: RunStatus | None, now: datetime) -> bool:
    """A live run still owns it: leave it alone unless it has not moved for too long."""
    if run_status != RunStatus.RUNNING:
        return False
    if project.sync_status not in {SyncStatus.PENDING, SyncStatus.SYNCING}:
        return False
    return project.updated_at is not None and now - project.updated_at < STUCK_AFTER


def plan_team_night(repo: TeamStores, now: datetime) -> tuple[list[str], int]:
    """The team's projects to run tonight, and how many were left to a run in progress.
    One Query of the team's projects, and one read per distinct run id of a project still
    PENDING or SYNCING (a healthy team has none)."""
    runs: dict[str, RunStatus | None] = {}
    keys: list[str] = []
    skipped = 0
    for project in repo.projects.list_tracked():
        if not project.selected:
            continue
        run_id = project.run_id or ""
        if project.sync_status in {SyncStatus.PENDING, SyncStatus.SYNCING} and run_id not in runs:
            run = repo.runs.get(run_id) if run_id else None
            runs[run_id] = run.status if run else None
        if _in_progress(project, runs.get(run_id), now):
            skipped += 1
            continue
        keys.append(project.project_key)
    return sorted(keys), skipped


def _claim(repo: TeamStores, run_id: str) -> bool:
    """Take tonight's run id; a repeat finds it taken. A run whose start failed earlier tonight
    (still QUEUED) may be taken again: the execution's name still refuses a second execution."""
    if repo.runs.claim(run_id, trigger="nightly"):
        return True
    earlier = repo.runs.get(run_id)
    return earlier is not None and earlier.status == RunStatus.QUEUED


def start_team_night(team_id: str, scheduled_time: datetime, now: datetime | None = None) -> NightlyResult:
    """Start `team_id`'s nightly run for the night scheduled at `scheduled_time`, at most once.

    The claim comes first: a repeat costs two requests and reads nothing else."""
    now = now or datetime.now(UTC)
    repo = TeamStores(team_id)
    logger.append_keys(team_id=team_id)
    result = NightlyResult(teams=0, projects=0)
    run_id = nightly_run_id(team_id, scheduled_time)
    if not _claim(repo, run_id):
        logger.info("Nightly Jira sync already started tonight", extra={"run_id": run_id})
        result.refused_repeat = True
        return result
    connection = repo.connection.get()
    if connection is not None and connection.reconnect_reason:
        logger.info("Nightly Jira sync skipped: the team must reconnect Jira")  # no call, no retry
        result.skipped_reconnect = True
        return result  # (the claim stays: tonight's repeats stop at it)
    keys, result.skipped_in_progress = plan_team_night(repo, now)
    if not keys:
        repo.runs.release_claim(run_id)
        logger.info("Nightly Jira sync: nothing to run", extra={"skipped": result.skipped_in_progress})
        return result
    _, status = launch_run(team_id, keys, trigger="nightly", run_id=run_id)
    if status != RunStatus.RUNNING.value:
        # Scheduler retries a failed invocation (RetryPolicy); if every retry fails, the projects
        # stay PENDING under a QUEUED run and the next night starts them.
        raise NightlyStartError(
            f"The nightly sync of team {team_id} could not be started; it will be retried."
        )
    result.teams, result.projects, result.runs = 1, len(keys), {team_id: run_id}
    metrics.add_metric(name="NightlyProjectsScheduled", unit=MetricUnit.Count, value=result.projects)
    logger.info("Nightly Jira sync started", extra=result.model_dump())
    return result
