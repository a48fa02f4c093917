"""The work a project needs around its segments' pages: before the first page of a run (the plan
when no Plan Sync made one, boards and sprints, the weekly deletion sweep) and after the last one
(COMPLETE, with what the store holds)."""

from __future__ import annotations

from datetime import UTC, datetime

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.logic.run.plan import ensure_field_map, plan_project, project_jql, sweep_due
from jira_onboarding.observability import logger
from jira_onboarding.records import TrackedProject

SWEEP_PAGE_SIZE = 5000  # the documented maximum when only ids are requested


def sweep_deleted(client: JiraClient, repo: TeamStores, project_key: str) -> int:
    """An id-only pass over the project: stored issues Jira no longer returns (deleted, moved,
    hidden) are marked deleted. Costs one call per 5,000 issues and no full resync."""
    seen: set[str] = set()
    pages = client.iter_search_pages(
        project_jql(project_key), fields=["id"], max_results=SWEEP_PAGE_SIZE, what=f"project {project_key}"
    )
    for page in pages:
        seen.update(key for raw in page.items if isinstance(key := raw.get("key"), str))
    gone = repo.issues.live_keys(project_key) - seen
    marked = repo.issues.mark_deleted(sorted(gone))
    repo.projects.mark_swept(project_key, at=datetime.now(UTC))
    if marked:
        logger.info("Issues gone from Jira marked deleted", extra={"count": marked})
    return marked


def refresh_structure(
    client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str
) -> str | None:
    """Store the project's boards, sprints and versions; return the board's own estimation field."""
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
    versions = client.project_versions(key)  # the release dates of its fix versions
    repo.projects.mark_structure_refreshed(
        key, run_id=run_id, estimation_field=estimation_field, versions=versions
    )
    return estimation_field


def plan_if_unplanned(
    client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str
) -> TrackedProject:
    """The plan Plan Sync makes, made here when the step runs without it (the segment step invoked
    on its own, as the harness and some tests do): the same planner, once per run."""
    if project.plan_run_id == run_id:
        return project
    ensure_field_map(client, repo, refresh=project.last_synced_at is None)
    return plan_project(client, repo, project, run_id)


def prepare_project(
    client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str
) -> TrackedProject:
    """Work a project needs once per run before its first page: the plan (when no Plan Sync step
    made one), boards and sprints for a full sync, the weekly deletion sweep for an incremental one
    (whose boards and sprints are refreshed at the end, see `finish_project`)."""
    key = project.project_key
    project = plan_if_unplanned(client, repo, project, run_id)
    if project.structure_run_id != run_id:
        if project.sync_mode == "full":
            refresh_structure(client, repo, project, run_id)
        else:
            if sweep_due(project, datetime.now(UTC)):
                sweep_deleted(client, repo, key)
            repo.projects.mark_structure_checked(key, run_id=run_id)
        project = repo.projects.get(key) or project
    return project


def finish_project(client: JiraClient, repo: TeamStores, project: TrackedProject, run_id: str) -> None:
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
        # What the store holds for the project, not just what this run fetched.
        issues_stored = repo.issues.count(key)
    elif project.sync_mode == "full":
        issues_stored = project.issues_fetched  # over an empty store, what was fetched is stored
    weekly = bool(
        project.started_at and project.last_swept_at and project.last_swept_at >= project.started_at
    )
    if project.sync_mode == "incremental" and (activity or weekly):
        # Sprints may have started, closed or been created (issues move when a sprint closes):
        # refreshed after activity and with the weekly sweep. A quiet project costs no call here.
        refresh_structure(client, repo, project, run_id)
    repo.projects.complete(
        key,
        run_id=run_id,
        synced_from=project.started_at or datetime.now(UTC),
        issues_stored=issues_stored,
        last_swept_at=project.started_at if project.sync_mode == "full" else None,
    )
