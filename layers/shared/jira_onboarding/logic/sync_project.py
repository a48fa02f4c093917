"""Sync one project's issues page by page from its saved cursor.

Each invocation fetches pages until it is close to its time budget, committing each page (issues
first, then the cursor) so a crash resumes from the last committed page and a replayed page writes
the same items again instead of duplicates. A long throttle is returned as `wait_seconds` for the
state machine's Wait state; the cursor is already saved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jira_onboarding.contracts import ProjectPageResult, ProjectStepInput
from jira_onboarding.dal.repository import Repository
from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
from jira_onboarding.jira.client import BULK_CHANGELOG_MAX_ISSUES, JiraClient
from jira_onboarding.jira.models import FieldMap, JiraIssue, parse_issue
from jira_onboarding.logic.changelog import attach_changelogs
from jira_onboarding.logic.connections import open_jira
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import SyncStatus, TrackedProject
from jira_onboarding.settings import get_settings

# Incremental runs ask for issues updated since the last sync plus this overlap, as a JQL period
# ("-90m"): periods are relative to now, so the Jira user's time zone cannot shift the window.
OVERLAP_MINUTES = 15
# Waits for Jira's quota (Wait For Jira) a project may accumulate in one run before it is FAILED.
MAX_THROTTLED_SECONDS = 4 * 3600
SWEEP_INTERVAL = timedelta(days=7)
SWEEP_PAGE_SIZE = 5000  # the documented maximum when only ids are requested
# Issues per commit: one bulk changelog call covers up to 1,000 issues (ten search pages).
CHANGELOG_BATCH_ISSUES = BULK_CHANGELOG_MAX_ISSUES


def project_jql(project_key: str, since_minutes: int | None = None) -> str:
    # Key order keeps pages stable while people create issues mid-sync (new keys sort last).
    window = f' AND updated >= "-{since_minutes}m"' if since_minutes else ""
    return f'project = "{project_key}"{window} ORDER BY key ASC'


def sweep_deleted(client: JiraClient, repo: Repository, project_key: str) -> int:
    """An id-only pass over the project: stored issues Jira no longer returns (deleted, moved,
    hidden) are marked deleted. Costs one call per 5,000 issues and no full resync."""
    seen: set[str] = set()
    token: str | None = None
    while True:
        page = client.search_page(
            project_jql(project_key),
            fields=["id"],
            next_page_token=token,
            max_results=SWEEP_PAGE_SIZE,
            what=f"project {project_key}",
        )
        seen.update(raw["key"] for raw in page.issues)
        token = page.next_page_token
        if page.is_last or not token:
            break
    gone = repo.live_issue_keys(project_key) - seen
    marked = repo.mark_issues_deleted(sorted(gone))
    repo.update_project(project_key, last_swept_at=datetime.now(UTC))
    if marked:
        logger.info("Issues gone from Jira marked deleted", extra={"count": marked})
    return marked


def _sweep_if_jira_has_fewer(client: JiraClient, repo: Repository, project_key: str) -> bool:
    """At the end of a full sync: issues deleted in Jira after their page was fetched are stored
    live. One count call finds out; only then does the id-only sweep run. Returns whether it ran."""
    if client.approximate_count(f'project = "{project_key}"', what=f"project {project_key}") >= (
        repo.count_issues(project_key)
    ):
        return False
    sweep_deleted(client, repo, project_key)
    return True


def _refresh_structure(client: JiraClient, repo: Repository, project_key: str) -> tuple[FieldMap, str | None]:
    """Detect the site's fields, store the project's boards and sprints; return the field map and
    the board's own estimation field."""
    field_map = FieldMap.detect(client.fields())
    repo.save_field_map(field_map.model_dump())
    estimation_field = None
    board_rows = []
    for board in client.boards(project_key):
        field = client.board_estimation_field(board.id)
        board_rows.append((board, field))
        if field and field.startswith("customfield_") and estimation_field is None:
            estimation_field = field
        repo.save_sprints(project_key, client.sprints(board))
    repo.save_boards(board_rows)
    return field_map, estimation_field


def _begin(client: JiraClient, repo: Repository, project: TrackedProject) -> None:
    """The run's first invocation for this project: choose full or incremental, once."""
    now = datetime.now(UTC)
    connection = repo.get_connection()
    key = project.project_key
    has_data = project.last_synced_at is not None and bool(connection and connection.field_map)
    sweep_due = has_data and (project.last_swept_at is None or now - project.last_swept_at >= SWEEP_INTERVAL)
    if has_data and project.last_synced_at is not None:
        since = math.ceil((now - project.last_synced_at).total_seconds() / 60) + OVERLAP_MINUTES
        if sweep_due:
            sweep_deleted(client, repo, key)
        repo.update_project(
            key,
            sync_status=SyncStatus.SYNCING.value,
            started_at=now,
            sync_mode="incremental",
            since_minutes=since,
            issues_total_estimate=None,
        )
        return
    # No data yet: a full sync, which sees every issue there is and so counts as a sweep.
    _, estimation_field = _refresh_structure(client, repo, key)
    total = client.approximate_count(f'project = "{key}"', what=f"project {key}")
    repo.update_project(
        key,
        sync_status=SyncStatus.SYNCING.value,
        started_at=now,
        sync_mode="full",
        issues_total_estimate=total,
        estimation_field=estimation_field,
        last_swept_at=now,
    )


def sync_project_page(step: ProjectStepInput, *, time_left_s: Callable[[], float]) -> ProjectPageResult:
    """Fetch and commit pages of one project from its saved cursor until done or out of time."""
    settings = get_settings()
    repo = Repository(step.team_id)
    logger.append_keys(run_id=step.run_id, project_key=step.project_key)
    project = repo.get_project(step.project_key)
    if project is None or project.run_id != step.run_id:
        # A newer run took this project over (or it was never tracked): nothing for this run to do.
        logger.warning("Project no longer belongs to this run; skipping")
        return ProjectPageResult(**step.model_dump(), done=True)
    if project.sync_status == SyncStatus.COMPLETE:
        # A replayed final invocation (lost response): the work is committed already.
        return ProjectPageResult(
            **step.model_dump(),
            done=True,
            pages_synced=project.pages_synced,
            issues_stored=project.issues_stored,
        )

    client = open_jira(step.team_id, repo, time_left_s=time_left_s)
    written = 0
    last = swept = False
    try:
        if project.sync_mode is None:
            _begin(client, repo, project)
            project = repo.get_project(step.project_key) or project
        connection = repo.get_connection()
        field_map = FieldMap.model_validate((connection.field_map if connection else None) or {})
        estimation_field = project.estimation_field
        since = project.since_minutes if project.sync_mode == "incremental" else None
        jql = project_jql(step.project_key, since)
        cursor = project.cursor
        fields = field_map.issue_fields(extra=(estimation_field,) if estimation_field else ())
        # Pages are committed in batches of up to CHANGELOG_BATCH_ISSUES issues, so one bulk
        # changelog call serves ten pages instead of one. The invocation's first batch is a single
        # page: the team sees issues within seconds. A crash mid-batch refetches the batch from the
        # cursor it started at (nothing was committed for it), so nothing is missed or counted twice.
        pending: list[JiraIssue] = []
        next_token: str | None = None
        batch_pages = 0
        batch_limit = 1
        while True:
            page = client.search_page(
                jql,
                fields=fields,
                next_page_token=cursor if not batch_pages else next_token,
                max_results=settings.jira_page_size,
                what=f"project {step.project_key}",
            )
            pending.extend(parse_issue(raw, field_map, estimation_field) for raw in page.issues)
            batch_pages += 1
            next_token = page.next_page_token
            last = page.is_last or not page.next_page_token
            if not last and len(pending) < batch_limit and time_left_s() >= settings.sync_time_reserve_s:
                continue
            batch_limit = CHANGELOG_BATCH_ISSUES
            issues, pending = pending, []
            if issues:
                issues = attach_changelogs(client, issues, field_map.sprint_field)
            written += repo.save_issues(issues, run_id=step.run_id)
            # Before the last commit, so a failure here replays the last page instead of leaving
            # an issue deleted mid-sync stored as live.
            swept = (
                last
                and project.sync_mode == "full"
                and _sweep_if_jira_has_fewer(client, repo, step.project_key)
            )
            repo.commit_page(
                step.project_key,
                run_id=step.run_id,
                previous_cursor=cursor,
                next_cursor=None if last else page.next_page_token,
                issues_on_page=len(issues),
                complete=last,
                pages=batch_pages,
            )
            cursor = page.next_page_token
            batch_pages = 0
            if last or time_left_s() < settings.sync_time_reserve_s:
                break
        if last and (project.sync_mode == "incremental" or swept):
            # The status shows what the store holds for the project, not just what changed.
            repo.update_project(step.project_key, issues_stored=repo.count_issues(step.project_key))
    except JiraThrottledError as exc:
        if exc.retry_after is None:
            raise
        wait = max(1, math.ceil(exc.retry_after))
        waited = repo.add_throttle_wait(step.project_key, wait)
        if waited > MAX_THROTTLED_SECONDS:
            # Bounded, so the run always finishes; the nightly retry runs the project again.
            raise JiraRateLimitExhaustedError(
                "Jira kept this project rate limited longer than a run waits; "
                "the nightly retry will run it again."
            ) from exc
        logger.warning("Jira asked for a long pause; handing it to the state machine", extra={"wait": wait})
        done = False
    else:
        done, wait = last, 0
    finally:
        client.close()
        metrics.add_metric(name="JiraIssuesStored", unit=MetricUnit.Count, value=written)
    after = repo.get_project(step.project_key)
    return ProjectPageResult(
        **step.model_dump(),
        done=done,
        wait_seconds=wait,
        pages_synced=after.pages_synced if after else 0,
        issues_stored=after.issues_stored if after else 0,
    )


def lambda_time_left(context: object) -> Callable[[], float]:
    """Seconds left in this invocation, from the Lambda context (or a generous default locally)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        deadline = time.monotonic() + 900
        return lambda: deadline - time.monotonic()
    return lambda: getter() / 1000.0
