"""The nightly batch: re-run failed and stuck projects, refresh complete ones incrementally.

The plan's promise is "no user-facing errors on sync failure, silent retry in a nightly batch":
every selected project of every team is looked at once a night. FAILED ones and those left
PENDING/SYNCING past a threshold run again; COMPLETE ones get an incremental refresh (issues updated
since their last sync, which costs one search call when nothing changed) and, once a week, an
id-only sweep that marks issues deleted in Jira.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from jira_onboarding.dal.projects import iter_all_tracked_projects
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.start_onboarding import launch_run
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import RunStatus, SyncStatus, TrackedProject

STUCK_AFTER = timedelta(hours=1)


class NightlyPlan(BaseModel):
    runs: dict[str, list[str]] = Field(default_factory=dict)  # team -> project keys to run
    skipped_in_progress: int = 0


class NightlyResult(BaseModel):
    teams: int
    projects: int
    runs: dict[str, str] = Field(default_factory=dict)  # team -> run id
    skipped_in_progress: int = 0


def _in_progress(project: TrackedProject, run_status: RunStatus | None, now: datetime) -> bool:
    """A live run still owns it: leave it alone unless it has not moved for too long."""
    if run_status != RunStatus.RUNNING:
        return False
    if project.sync_status not in {SyncStatus.PENDING, SyncStatus.SYNCING}:
        return False
    return project.updated_at is not None and now - project.updated_at < STUCK_AFTER


def plan_nightly(now: datetime | None = None) -> NightlyPlan:
    now = now or datetime.now(UTC)
    plan = NightlyPlan()
    by_team: dict[str, list[str]] = defaultdict(list)
    run_status: dict[tuple[str, str], RunStatus | None] = {}
    for project in iter_all_tracked_projects():
        if not project.selected:
            continue
        key = (project.team_id, project.run_id or "")
        if key not in run_status:
            run = TeamStores(project.team_id).runs.get(project.run_id) if project.run_id else None
            run_status[key] = run.status if run else None
        if _in_progress(project, run_status[key], now):
            plan.skipped_in_progress += 1
            continue
        by_team[project.team_id].append(project.project_key)
    plan.runs = {team: sorted(keys) for team, keys in sorted(by_team.items())}
    return plan


def run_nightly(now: datetime | None = None) -> NightlyResult:
    plan = plan_nightly(now)
    result = NightlyResult(
        teams=len(plan.runs),
        projects=sum(len(k) for k in plan.runs.values()),
        skipped_in_progress=plan.skipped_in_progress,
    )
    for team_id, keys in plan.runs.items():
        if not TeamStores(team_id).connection.get():
            logger.warning("Team has tracked projects but no Jira connection", extra={"team_id": team_id})
            continue
        run_id, _ = launch_run(team_id, keys, trigger="nightly")
        result.runs[team_id] = run_id
    metrics.add_metric(name="NightlyProjectsScheduled", unit=MetricUnit.Count, value=result.projects)
    logger.info("Nightly Jira sync scheduled", extra=result.model_dump())
    return result
