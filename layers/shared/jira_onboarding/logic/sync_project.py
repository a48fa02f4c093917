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
from datetime import UTC, datetime

from jira_onboarding.contracts import ProjectPageResult, ProjectStepInput
from jira_onboarding.dal.repository import Repository
from jira_onboarding.errors import JiraThrottledError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import FieldMap, parse_issue
from jira_onboarding.logic.connections import open_jira
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import SyncStatus
from jira_onboarding.settings import get_settings


def project_jql(project_key: str) -> str:
    # Key order keeps pages stable while people create issues mid-sync (new keys sort last).
    return f'project = "{project_key}" ORDER BY key ASC'


def _prepare(client: JiraClient, repo: Repository, project_key: str) -> tuple[FieldMap, str | None]:
    """First page of a run: detect the site's fields, store boards and sprints, estimate the total."""
    field_map = FieldMap.detect(client.fields())
    repo.save_field_map(field_map.model_dump())
    boards = client.boards(project_key)
    estimation_field = None
    board_rows = []
    for board in boards:
        field = client.board_estimation_field(board.id)
        board_rows.append((board, field))
        if field and field.startswith("customfield_") and estimation_field is None:
            estimation_field = field
        repo.save_sprints(project_key, client.sprints(board))
    repo.save_boards(board_rows)
    total = client.approximate_count(f'project = "{project_key}"', what=f"project {project_key}")
    repo.update_project(
        project_key,
        sync_status=SyncStatus.SYNCING.value,
        started_at=datetime.now(UTC),
        issues_total_estimate=total,
        estimation_field=estimation_field,
    )
    return field_map, estimation_field


def sync_project_page(step: ProjectStepInput, *, time_left_s: Callable[[], float]) -> ProjectPageResult:
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
    stored_now = 0
    try:
        if project.sync_status == SyncStatus.PENDING or project.pages_synced == 0:
            field_map, estimation_field = _prepare(client, repo, step.project_key)
        else:
            connection = repo.get_connection()
            field_map = FieldMap.model_validate((connection.field_map if connection else None) or {})
            estimation_field = project.estimation_field
        cursor = project.cursor
        fields = field_map.issue_fields(extra=(estimation_field,) if estimation_field else ())
        while True:
            page = client.search_page(
                project_jql(step.project_key),
                fields=fields,
                next_page_token=cursor,
                max_results=settings.jira_page_size,
                what=f"project {step.project_key}",
            )
            issues = [parse_issue(raw, field_map, estimation_field) for raw in page.issues]
            repo.save_issues(issues, run_id=step.run_id)
            last = page.is_last or not page.next_page_token
            repo.commit_page(
                step.project_key,
                run_id=step.run_id,
                previous_cursor=cursor,
                next_cursor=None if last else page.next_page_token,
                issues_on_page=len(issues),
                complete=last,
            )
            stored_now += len(issues)
            cursor = page.next_page_token
            if last or time_left_s() < settings.sync_time_reserve_s:
                break
    except JiraThrottledError as exc:
        if exc.retry_after is None:
            raise
        logger.warning(
            "Jira asked for a long pause; handing it to the state machine", extra={"wait": exc.retry_after}
        )
        done, wait = False, max(1, math.ceil(exc.retry_after))
    else:
        done, wait = bool(last), 0
    finally:
        client.close()
        metrics.add_metric(name="JiraIssuesStored", unit=MetricUnit.Count, value=stored_now)
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
