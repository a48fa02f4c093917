"""Sync one segment of a project page by page from its saved cursor (see `plan_sync` for segments).

Each invocation fetches pages until it is close to its time budget, committing them (issues first,
then the segment's cursor) so a crash resumes from the last commit and a replayed page writes the
same items again instead of duplicates. A long throttle is returned as `wait_seconds` for the state
machine's Wait state; the cursor is already saved. The segment that finishes a project's last part
checks for issues deleted meanwhile and marks the project COMPLETE.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from jira_onboarding.budget import Priority
from jira_onboarding.contracts import ProjectPageResult, ProjectStepInput
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
from jira_onboarding.jira.client import BULK_CHANGELOG_MAX_ISSUES, JiraClient
from jira_onboarding.jira.models import FieldMap, JiraIssue, parse_issue
from jira_onboarding.logic.changelog import attach_changelogs
from jira_onboarding.logic.connections import open_jira
from jira_onboarding.logic.plan_sync import ensure_field_map, plan_project, project_jql
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import SyncStatus, TrackedProject
from jira_onboarding.settings import get_settings

# Waits for Jira's quota (Wait For Jira) a project may accumulate in one run before it is FAILED.
MAX_THROTTLED_SECONDS = 4 * 3600
SWEEP_INTERVAL = timedelta(days=7)
SWEEP_PAGE_SIZE = 5000  # the documented maximum when only ids are requested
# Issues per commit: one bulk changelog call covers up to 1,000 issues (ten search pages).
CHANGELOG_BATCH_ISSUES = BULK_CHANGELOG_MAX_ISSUES


class _Committer:
    """Stores a segment's batches and advances its cursor on a thread of its own, one batch at a
    time and in order, while the invocation fetches the next batch: storing 1,000 issues is 40
    BatchWriteItem calls, which would otherwise sit on the segment's chain of pages.

    A batch is committed only after the previous one: `submit` first waits for it. A crash loses at
    most the batch being written and the one being fetched, and both are refetched from the cursor
    the last commit saved.
    """

    def __init__(self, repo: TeamStores, step: ProjectStepInput, *, fresh: bool, count_fetched: bool) -> None:
        self._repo = repo
        self._step = step
        self._fresh = fresh
        self._count_fetched = count_fetched
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        self._in_flight: Future[TrackedProject | None] | None = None
        self.written = 0
        self.after: TrackedProject | None = None  # the project after the last commit that applied

    def submit(
        self, issues: list[JiraIssue], *, previous_cursor: str | None, next_cursor: str | None, pages: int
    ) -> bool:
        """Wait for the previous batch, then start this one; False if a commit did not apply."""
        if not self.wait():
            return False
        self._in_flight = self._pool.submit(self._commit, issues, previous_cursor, next_cursor, pages)
        return True

    def wait(self) -> bool:
        """Wait for the batch in flight; False if its commit did not apply (another invocation
        moved the cursor on: a replay, whose outcome stands)."""
        if self._in_flight is None:
            return True
        future, self._in_flight = self._in_flight, None
        after = future.result()
        if after is None:
            return False
        self.after = after
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _commit(
        self, issues: list[JiraIssue], previous_cursor: str | None, next_cursor: str | None, pages: int
    ) -> TrackedProject | None:
        step = self._step
        stored = self._repo.issues.save(issues, run_id=step.run_id, fresh=self._fresh)
        self.written += stored
        return self._repo.projects.commit_segment(
            step.project_key,
            run_id=step.run_id,
            segment=step.segment,
            previous_cursor=previous_cursor,
            next_cursor=next_cursor,
            issues_fetched=len(issues) if self._count_fetched else 0,
            issues_written=stored,
            pages=pages,
            done=next_cursor is None,
        )


def sweep_deleted(client: JiraClient, repo: TeamStores, project_key: str) -> int:
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
    gone = repo.issues.live_keys(project_key) - seen
    marked = repo.issues.mark_deleted(sorted(gone))
    repo.projects.mark_swept(project_key, at=datetime.now(UTC))
    if marked:
        logger.info("Issues gone from Jira marked deleted", extra={"count": marked})
    return marked


def _refresh_structure(
    client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str
) -> str | None:
    """Store the project's boards and sprints; return the board's own estimation field."""
    key = project.project_key
    estimation_field = None
    board_rows = []
    for board in client.boards(key):
        field = client.board_estimation_field(board.id)
        board_rows.append((board, field))
        if field and field.startswith("customfield_") and estimation_field is None:
            estimation_field = field
        repo.boards.save_sprints(key, client.sprints(board))
    repo.boards.save_boards(board_rows)
    repo.projects.mark_structure_refreshed(key, run_id=run_id, estimation_field=estimation_field)
    return estimation_field


def _prepare(client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str) -> TrackedProject:
    """Work a project needs once per run before its first page: the plan (when no Plan Sync step
    made one), boards and sprints for a full sync, the weekly deletion sweep for an incremental one
    (whose boards and sprints are refreshed at the end, see `_complete`)."""
    key = project.project_key
    if project.plan_run_id != run_id:
        ensure_field_map(client, repo, refresh=project.last_synced_at is None)
        project = plan_project(client, repo, project, run_id)
    if project.structure_run_id != run_id:
        if project.sync_mode == "full":
            _refresh_structure(client, repo, project, run_id)
        else:
            now = datetime.now(UTC)
            if project.last_swept_at is None or now - project.last_swept_at >= SWEEP_INTERVAL:
                sweep_deleted(client, repo, key)
            repo.projects.mark_structure_checked(key, run_id=run_id)
        project = repo.projects.get(key) or project
    return project


def _complete(client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str) -> None:
    """The project's last segment is done: COMPLETE, with what the store holds."""
    key = project.project_key
    # A full sync over older data (a retried first sync): stored issues may be gone from Jira, so
    # the id-only sweep runs. Over an empty store the fetched issues are what is stored; issues
    # deleted meanwhile are found by Reconcile Run with one count for the whole run.
    swept = project.sync_mode == "full" and not project.fresh_store
    if swept:
        sweep_deleted(client, repo, key)
    issues_stored = None
    activity = project.sync_mode == "incremental" and bool(project.issues_written)
    if swept or activity:
        # The status shows what the store holds for the project, not just what this run fetched.
        issues_stored = repo.issues.count(key)
    weekly = bool(
        project.started_at and project.last_swept_at and project.last_swept_at >= project.started_at
    )
    if project.sync_mode == "incremental" and (activity or weekly):
        # Sprints may have started, closed or been created (issues move when a sprint closes):
        # refreshed after activity and with the weekly sweep. A quiet project costs no call here.
        _refresh_structure(client, repo, project, run_id)
    repo.projects.complete(
        key,
        run_id=run_id,
        synced_from=project.started_at or datetime.now(UTC),
        issues_stored=issues_stored,
        last_swept_at=project.started_at if project.sync_mode == "full" else None,
    )


def sync_project_page(step: ProjectStepInput, *, time_left_s: Callable[[], float]) -> ProjectPageResult:
    """Fetch and commit pages of one segment from its saved cursor until done or out of time."""
    settings = get_settings()
    repo = TeamStores(step.team_id)
    logger.append_keys(run_id=step.run_id, project_key=step.project_key, segment=step.segment)
    project = repo.projects.get(step.project_key)
    if project is None or project.run_id != step.run_id:
        # A newer run took this project over (or it was never tracked): nothing for this run to do.
        logger.warning("Project no longer belongs to this run; skipping")
        return ProjectPageResult(**step.model_dump(), done=True)
    if project.sync_status in {SyncStatus.COMPLETE, SyncStatus.FAILED}:
        # A replayed final invocation (the work is committed), or another segment failed the project.
        return _result(step, project, done=True)

    # A first sync has a person waiting; an incremental refresh gives way to it on a shared site.
    priority = Priority.REFRESH if project.sync_mode == "incremental" else Priority.ONBOARDING
    client = open_jira(step.team_id, repo, time_left_s=time_left_s, priority=priority, run_id=step.run_id)
    committer: _Committer | None = None
    last = False
    try:
        project = _prepare(client, repo, project, step.run_id)
        segment = project.segments.get(step.segment)
        if segment is None:
            raise ValueError(f"No segment {step.segment!r} is planned for project {step.project_key}.")
        if segment.done:
            if all(s.done for s in project.segments.values()):
                _complete(client, repo, project, step.run_id)  # replayed: the last commit landed
            return _result(step, repo.projects.get(step.project_key), done=True)
        connection = repo.connection.get()
        field_map = FieldMap.model_validate((connection.field_map if connection else None) or {})
        estimation_field = project.estimation_field
        fields = field_map.issue_fields(extra=(estimation_field,) if estimation_field else ())
        fresh = bool(project.fresh_store)
        committer = _Committer(repo, step, fresh=fresh, count_fetched=project.sync_mode == "full")
        cursor = segment.cursor
        # Pages are committed in batches of up to CHANGELOG_BATCH_ISSUES issues, so one bulk
        # changelog call serves ten pages instead of one. A crash mid-batch refetches the batch from
        # the cursor it started at (nothing was committed for it), so nothing is missed or counted
        # twice. The first page of a first sync is also stored at once, before its changelog: the
        # team sees issues within seconds (the status counts them as previewed), and the batch
        # rewrites them with their histories.
        preview = fresh and segment.phase == "recent" and cursor is None
        pending: list[JiraIssue] = []
        next_token: str | None = None
        batch_pages = 0
        while True:
            page = client.search_page(
                segment.jql,
                fields=fields,
                next_page_token=cursor if not batch_pages else next_token,
                max_results=settings.jira_page_size,
                what=f"project {step.project_key}",
            )
            parsed = [parse_issue(raw, field_map, estimation_field) for raw in page.issues]
            pending.extend(parsed)
            batch_pages += 1
            next_token = page.next_page_token
            last = page.is_last or not page.next_page_token
            if preview and not last:
                repo.issues.save(parsed, run_id=step.run_id, fresh=True)
                # Set, not added: a project has one recent segment, and a retried first page is
                # the same page.
                repo.projects.set_issues_previewed(step.project_key, run_id=step.run_id, count=len(parsed))
            preview = False
            if (
                not last
                and len(pending) < CHANGELOG_BATCH_ISSUES
                and time_left_s() >= settings.sync_time_reserve_s
            ):
                continue
            issues, pending = pending, []
            if issues:
                issues = attach_changelogs(client, issues, field_map.sprint_field)
            next_cursor = None if last else page.next_page_token
            submitted = committer.submit(
                issues, previous_cursor=cursor, next_cursor=next_cursor, pages=batch_pages
            )
            if not submitted:
                return _replayed(step, repo)
            cursor = next_cursor
            batch_pages = 0
            if last or time_left_s() < settings.sync_time_reserve_s:
                break
        if not committer.wait():
            return _replayed(step, repo)
        if last and committer.after and all(s.done for s in committer.after.segments.values()):
            _complete(client, repo, committer.after, step.run_id)
    except JiraThrottledError as exc:
        if exc.retry_after is None:
            raise
        # What was fetched before the throttle is committed first; the pause starts from there.
        if committer is not None and not committer.wait():
            return _replayed(step, repo)
        wait = max(1, math.ceil(exc.retry_after))
        waited = repo.projects.add_throttle_wait(step.project_key, wait)
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
        if committer is not None:
            committer.close()  # no write outlives the invocation (a frozen Lambda would hold it)
        client.close()
        metrics.add_metric(
            name="JiraIssuesStored", unit=MetricUnit.Count, value=committer.written if committer else 0
        )
    return _result(step, repo.projects.get(step.project_key), done=done, wait_seconds=wait)


def _replayed(step: ProjectStepInput, repo: TeamStores) -> ProjectPageResult:
    # Another invocation committed this cursor first (a replay): its outcome stands.
    logger.warning("Segment cursor moved on meanwhile; stopping this invocation")
    return _result(step, repo.projects.get(step.project_key), done=False)


def _result(
    step: ProjectStepInput, project: TrackedProject | None, *, done: bool, wait_seconds: int = 0
) -> ProjectPageResult:
    return ProjectPageResult(
        **step.model_dump(),
        done=done,
        wait_seconds=wait_seconds,
        pages_synced=project.pages_synced if project else 0,
        issues_stored=project.issues_stored if project else 0,
    )


def lambda_time_left(context: object) -> Callable[[], float]:
    """Seconds left in this invocation, from the Lambda context (or a generous default locally)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        deadline = time.monotonic() + 900
        return lambda: deadline - time.monotonic()
    return lambda: getter() / 1000.0
