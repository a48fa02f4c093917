"""Record outcomes: a failed project (from the Map's Catch) and the run as a whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_onboarding.contracts import ProjectFailure, RunOutcome
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import RunStatus, SyncStatus
from jira_onboarding.redact import scrub

NIGHTLY_RETRY_HOUR_UTC = 2


def next_nightly_run(now: datetime) -> datetime:
    """When the nightly retry (EventBridge, 02:00 UTC) will next pick a failed project up."""
    candidate = now.replace(hour=NIGHTLY_RETRY_HOUR_UTC, minute=0, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def describe_failure(error: dict[str, Any]) -> tuple[str, str]:
    """Turn Step Functions' {Error, Cause} into (error name, a sentence a person understands)."""
    name = str(error.get("Error") or "UnknownError")
    cause = error.get("Cause")
    message = None
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
            message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
        except ValueError:
            message = cause
    readable = {
        "JiraPermissionError": "No access to this project with the connected Jira account.",
        "JiraNotFoundError": "This project does not exist in Jira (or was deleted).",
        "JiraAuthError": "Jira refused the connection's credentials.",
        "GrantRevokedError": "Jira no longer accepts this team's connection: press Reconnect Jira.",
        "JiraThrottledError": "Jira kept rate limiting the sync.",
        "JiraServerError": "Jira kept failing with server errors.",
        "JiraTimeoutError": "Jira did not answer in time.",
        "JiraMalformedResponseError": "Jira kept sending unreadable answers.",
        "JiraGoneError": "Jira no longer offers an endpoint the sync uses.",
        "JiraPagingError": "Jira's paging did not end.",
    }.get(name)
    # Our own errors (Jira...) and Step Functions' (States.*) carry a sentence; anything else's
    # message is raw Python text. Scrubbed whole (the message is already bounded), then cut.
    own = message if name.startswith(("Jira", "States.")) else None
    reason = own or readable or f"The sync failed ({scrub(name, limit=80)})."
    return name[:100], scrub(reason[:4000], limit=300)


def mark_failed(repo: TeamStores, run_id: str, project_key: str, name: str, reason: str) -> bool:
    """FAILED for this run (not if a newer run took the project over); the nightly retry runs it again."""
    reason = scrub(reason, limit=300)
    now = datetime.now(UTC)
    applied = repo.projects.mark_failed(
        project_key,
        run_id=run_id,
        error_name=name,
        reason=reason,
        at=now,
        retry_at=next_nightly_run(now),
    )
    metrics.add_metric(name="ProjectsFailed", unit=MetricUnit.Count, value=1)
    logger.warning(
        "Jira project sync failed; it will be retried tonight",
        extra={"run_id": run_id, "project_key": project_key, "error_name": name, "reason": reason},
    )
    return applied


def mark_project_failed(failure: ProjectFailure) -> dict[str, Any]:
    name, reason = describe_failure(failure.error)
    applied = mark_failed(TeamStores(failure.team_id), failure.run_id, failure.project_key, name, reason)
    return {
        "project_key": failure.project_key,
        "status": SyncStatus.FAILED.value,
        "reason": reason,
        "applied": applied,
    }


def finish_run(step: RunOutcome) -> dict[str, Any]:
    repo = TeamStores(step.team_id)
    if step.users_error:
        # Users are optional for the projects; the run still finishes, and says why users are missing.
        name, reason = describe_failure(step.users_error)
        repo.runs.record_users_error(step.run_id, reason)
        logger.warning("Jira users sync failed", extra={"error_name": name, "reason": reason})
    stop_name, stop_reason = "Stopped", "The sync stopped before this project finished."
    if step.plan_error:
        stop_name, plan_reason = describe_failure(step.plan_error)
        stop_reason = f"The sync could not start: {plan_reason}"
    run = repo.runs.get(step.run_id)
    keys = run.project_keys if run else []
    statuses: dict[str, str] = {}
    for project in repo.projects.among(keys):
        key = project.project_key
        if project.run_id != step.run_id:
            continue
        if project.sync_status not in {SyncStatus.COMPLETE, SyncStatus.FAILED}:
            # Left without an outcome (the plan failed, or a bug): say so instead of claiming success.
            mark_failed(repo, step.run_id, key, stop_name, stop_reason)
            statuses[key] = SyncStatus.FAILED.value
        else:
            statuses[key] = project.sync_status.value
    failed = sum(1 for s in statuses.values() if s == SyncStatus.FAILED.value)
    status = RunStatus.COMPLETE_WITH_FAILURES if failed else RunStatus.COMPLETE
    repo.runs.finish(step.run_id, status, at=datetime.now(UTC))
    logger.info(
        "Jira onboarding run finished",
        extra={"run_id": step.run_id, "status": status.value, "failed": failed},
    )
    return {"run_id": step.run_id, "status": status.value, "projects": statuses}
