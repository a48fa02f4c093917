"""Sprints under live updates: from sprint events where Jira sends them (admin webhooks), otherwise
by refreshing the sprints of boards whose issues changed, at most once per project per interval
(dynamic webhooks carry no sprint events).

A sprint event's payload is not trusted either (events come late and out of order): the sprint is
read from Jira again. When a sprint is seen turning active, its scope is recorded then (issues and
points, from Jira, sub-tasks left out as the metrics do): its commitment is then exact, not
reconstructed from the Sprint field's history.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from jira_onboarding.budget import Priority
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraNotFoundError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import FieldMap, JiraBoard, JiraIssue, JiraSprint, parse_issue
from jira_onboarding.logic.jira_access.changelog import attach_changelogs
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.live.team_batch import TeamBatch
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

SCOPE_PAGE_SIZE = 100


def _fetch_sprint(client: JiraClient, sprint_id: int) -> JiraSprint | None:
    try:
        body = client.request("GET", f"/rest/agile/1.0/sprint/{sprint_id}", what=f"sprint {sprint_id}")
    except JiraNotFoundError:
        return None
    return JiraSprint.model_validate(body)


def record_scope_at_start(client: JiraClient, repo: TeamStores, sprint: JiraSprint, project_key: str) -> bool:
    """Record the issues and points in the sprint as it starts (issues that joined after its start
    date, by their Sprint history, are left out: the event may be applied seconds later)."""
    connection = repo.connection.get()
    field_map = FieldMap.model_validate((connection.field_map if connection else None) or {})
    project = repo.projects.get(project_key)
    estimation = project.estimation_field if project else None
    fields = field_map.issue_fields(extra=(estimation,) if estimation else ())
    issues: list[JiraIssue] = []
    token: str | None = None
    while True:
        page = client.search_page(
            f"project = {project_key} AND sprint = {sprint.id}",
            fields=fields,
            next_page_token=token,
            max_results=SCOPE_PAGE_SIZE,
            what=f"the issues of sprint {sprint.id}",
        )
        issues.extend(parse_issue(raw, field_map, estimation) for raw in page.issues)
        token = page.next_page_token
        if page.is_last or not token:
            break
    issues = attach_changelogs(client, issues, field_map.sprint_field)
    start = sprint.start_date or datetime.now(UTC)
    committed = [
        issue
        for issue in issues
        if not issue.is_subtask
        and not any(
            change.at > start
            and sprint.id in change.sprint_ids("to")
            and sprint.id not in change.sprint_ids("from")
            for change in issue.sprint_changes
        )
    ]
    points = float(sum(i.story_points or 0 for i in committed))
    recorded = LiveStore(repo.team_id).record_sprint_scope(
        sprint.id,
        [i.key for i in committed],
        points,
        sum(1 for i in committed if i.story_points is None),
        datetime.now(UTC),
    )
    if recorded:
        logger.info(
            "Sprint scope recorded at start", extra={"sprint_id": sprint.id, "issues": len(committed)}
        )
    return recorded


def _store(client: JiraClient, repo: TeamStores, project_key: str, sprints: list[JiraSprint]) -> int:
    """Store the sprints; record the scope of those seen turning active. Returns how many started.

    The scope is recorded before the sprint is stored active: a failure in between (Jira, a
    throttle, a crash) leaves the stored sprint as it was, so the retried event sees it turn active
    again and records it (the first record stands). Stored first, the retry saw it active already
    and the scope was lost for good."""
    before = {s.id: s for s in repo.boards.list_sprints()}
    started = 0
    for sprint in sprints:
        previous = before.get(sprint.id)
        if sprint.state == "active" and (previous is None or previous.state != "active"):
            started += int(record_scope_at_start(client, repo, sprint, project_key))
    repo.boards.save_sprints(project_key, sprints)
    return started


def apply_sprint_event(team: TeamBatch, event: dict[str, Any]) -> str:
    """A sprint event (admin webhooks): the sprint as Jira has it now, stored."""
    payload = event.get("sprint") or {}
    repo = TeamStores(team.team_id)
    boards = {board.id: board for board, _ in repo.boards.list_boards()}
    board_id = payload.get("originBoardId")
    board = boards.get(board_id) if isinstance(board_id, int) else None
    if board is None or board.project_key not in team.tracked:
        return "dropped: board not tracked"
    client = open_jira(team.team_id, repo, priority=Priority.REFRESH)  # onboarding goes first
    try:
        sprint = _fetch_sprint(client, int(payload["id"]))
        team.jira_calls += 1
        if sprint is None:
            return "sprint gone"
        started = _store(client, repo, board.project_key, [sprint])
    finally:
        client.close()
    return "sprint started" if started else "sprint stored"


def refresh_changed_boards(team: TeamBatch) -> int:
    """The sprints of the boards of projects whose issues changed, at most once per project per
    `LIVE_SPRINT_REFRESH_SECONDS`. Returns the number of boards refreshed."""
    interval = get_settings().live_sprint_refresh_s
    live = LiveStore(team.team_id)
    now = time.time()
    due = sorted(p for p in team.changed_projects if live.claim_sprint_refresh(p, now, interval))
    if not due:
        return 0
    repo = TeamStores(team.team_id)
    boards: list[JiraBoard] = [
        b for b, _ in repo.boards.list_boards() if b.project_key in due and b.type == "scrum"
    ]
    if not boards:
        return 0
    client = open_jira(team.team_id, repo, priority=Priority.REFRESH)  # onboarding goes first
    try:
        for board in boards:
            _store(client, repo, board.project_key or "", client.sprints(board))
            team.jira_calls += 1
    finally:
        client.close()
    return len(boards)
