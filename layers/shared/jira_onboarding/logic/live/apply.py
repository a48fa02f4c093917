"""Apply a batch of queued Jira events: the consumer of the live-updates queue.

Payload order is not trusted. Issue events name the issues; their current state is fetched from
Jira once per team per batch (`project in (tracked) AND id in (...)`, the sync's fields, parse and
changelog path), and each is written only if Jira's `updated` is newer than the stored one
(`LiveStore.save_issue_if_newer`). A delete leaves a tombstone. Events of projects the team does not
track are counted and dropped. Each record succeeds or fails alone (Powertools' batch utility
reports partial failures to SQS); a record that keeps failing ends in the dead-letter queue.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from jira_onboarding.budget import Priority
from jira_onboarding.dal.issues import issue_content_hash
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import GrantRevokedError, JiraBadRequestError, JiraThrottledError
from jira_onboarding.jira.models import FieldMap, JiraIssue, parse_issue
from jira_onboarding.logic.jira_access.changelog import attach_changelogs
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.live import metrics as live_metrics
from jira_onboarding.logic.live import registration as live_registration
from jira_onboarding.logic.live import sprints as live_sprints
from jira_onboarding.logic.live.events import (
    DELETE_EVENT,
    REFETCH_EVENTS,
    SPRINT_EVENTS,
    LiveMessage,
    issue_ref,
    parse_message,
)
from jira_onboarding.logic.live.team_batch import TeamBatch
from jira_onboarding.observability import MetricUnit, logger, metrics

# Issues per search page: the search's limit when fields are asked for is at least this.
REFETCH_PAGE_SIZE = 100


def _refetch(team: TeamBatch, repo: TeamStores, issue_ids: list[str], field_map: FieldMap) -> None:
    """The current state of the team's changed issues: one search page per 100 ids, one bulk changelog."""
    client = open_jira(team.team_id, repo, priority=Priority.REFRESH)  # onboarding goes first
    try:
        estimation = {k: p.estimation_field for k, p in team.tracked.items()}
        extra = tuple(sorted({f for f in estimation.values() if f}))
        fields = field_map.issue_fields(extra=extra)
        projects = ", ".join(sorted(team.tracked))
        issues: list[JiraIssue] = []

        def search(chunk: list[str]) -> None:
            try:
                page = client.search_page(
                    f"project in ({projects}) AND id in ({', '.join(chunk)})",
                    fields=fields,
                    max_results=REFETCH_PAGE_SIZE,
                    what="the issues changed in Jira",
                )
            except JiraBadRequestError:
                team.jira_calls += 1
                # Jira refuses the whole query when one id names no issue (deleted meanwhile): halve
                # until the gone ones are alone (their delete events tombstone them).
                if len(chunk) > 1:
                    search(chunk[: len(chunk) // 2])
                    search(chunk[len(chunk) // 2 :])
                return
            team.jira_calls += 1
            for raw in page.issues:
                project_key = (((raw.get("fields") or {}).get("project") or {}).get("key")) or ""
                issues.append(parse_issue(raw, field_map, estimation.get(project_key)))

        for start in range(0, len(issue_ids), REFETCH_PAGE_SIZE):
            search(issue_ids[start : start + REFETCH_PAGE_SIZE])
        if issues:
            issues = attach_changelogs(client, issues, field_map.sprint_field)
            team.jira_calls += 1
        team.current = {issue.id: issue for issue in issues}
    finally:
        client.close()


def prepare(messages: list[LiveMessage]) -> dict[str, TeamBatch]:
    """Per team: the tracked projects, and one refetch of every issue the batch's events name."""
    teams: dict[str, TeamBatch] = {}
    named: dict[str, dict[str, str]] = {}  # team -> issue id -> project key, in event order
    for message in messages:
        team = teams.setdefault(message.team_id, TeamBatch(message.team_id))
        if message.kind == "jira_event" and message.webhook_event in REFETCH_EVENTS:
            ref = issue_ref(message.event)
            if ref is not None:
                named.setdefault(team.team_id, {}).setdefault(ref.id, ref.project_key)
    for team in teams.values():
        try:
            repo = TeamStores(team.team_id)
            connection = repo.connection.get()
            if connection is None or connection.reconnect_reason:
                # Disconnected while these were queued (logic/connection/disconnect.py), or the grant
                # is gone until a reconnect (whose sync catches up): counted and dropped, as for an
                # untracked project, not retried into the dead-letter queue.
                continue
            team.tracked = {p.project_key: p for p in repo.projects.list_tracked() if p.selected}
            ids = [i for i, project in named.get(team.team_id, {}).items() if project in team.tracked]
            if ids:
                field_map = FieldMap.model_validate(connection.field_map or {})
                _refetch(team, repo, ids, field_map)
        except Exception as exc:
            logger.warning(
                "Could not fetch the changed issues", extra={"team_id": team.team_id, "error": repr(exc)}
            )
            team.failure = exc
    return teams


def _apply_issue_event(message: LiveMessage, team: TeamBatch) -> str:
    ref = issue_ref(message.event)
    if ref is None or ref.project_key not in team.tracked:
        team.dropped += 1
        return "dropped: project not tracked"
    team.applied += 1
    team.changed_projects.add(ref.project_key)
    team.applied_by_project[ref.project_key] += 1
    live = LiveStore(team.team_id)
    if message.webhook_event == DELETE_EVENT:
        return "tombstoned" if live.tombstone_issue(ref.id, ref.key, ref.project_key) else "already deleted"
    issue = team.current.get(ref.id)
    if issue is None:
        return "not in Jira now"  # deleted meanwhile (its delete event follows) or no longer visible
    if live.save_issue_if_newer(issue, content_hash=issue_content_hash(issue)):
        return "written"
    return "stale or unchanged"


def apply_message(message: LiveMessage, team: TeamBatch) -> str:
    """Apply one event with what `prepare` fetched; returns what happened (for the log and tests)."""
    if message.kind == "refresh_metrics":
        return live_metrics.run_scheduled(message.team_id)
    if message.kind == "sync_registration":
        try:
            return live_registration.sync_registration(message.team_id)
        except GrantRevokedError:  # retried, it would fail the same: the reconnect registers again
            return "dropped: the team must reconnect Jira"
    if team.failure is not None:
        raise team.failure
    name = message.webhook_event
    if name in REFETCH_EVENTS or name == DELETE_EVENT:
        return _apply_issue_event(message, team)
    if name in SPRINT_EVENTS:
        outcome = live_sprints.apply_sprint_event(team, message.event)
        if outcome.startswith("dropped"):
            team.dropped += 1
        else:
            team.applied += 1
        return outcome
    team.dropped += 1
    return "dropped: event not used"


def _apply_delivery(delivery: dict[str, Any], message: LiveMessage, team: TeamBatch) -> str:
    return apply_message(message, team)


def _idempotent_apply(message: LiveMessage, team: TeamBatch, context: Any) -> str:
    """Apply a delivery at most once (Powertools idempotency keyed by its delivery id, per team)."""
    if message.kind != "jira_event" or not message.delivery_id:
        return apply_message(message, team)
    from jira_onboarding.logic.live.idempotency import apply_once

    return apply_once(
        _apply_delivery, message.team_id, message.delivery_id, context, message=message, team=team
    )


def _finish(teams: dict[str, TeamBatch]) -> None:
    """After the batch: status counters, the rate-bounded sprint refresh, the debounced metrics."""
    now = datetime.now(UTC)
    for team in teams.values():
        if team.failure is not None or not (team.applied or team.dropped):
            continue
        live = LiveStore(team.team_id)
        live.record_events(applied=team.applied, dropped=team.dropped, at=now)
        live.record_project_events(dict(team.applied_by_project), at=now)
        metrics.add_metric(name="LiveEventsApplied", unit=MetricUnit.Count, value=team.applied)
        metrics.add_metric(name="LiveEventsDropped", unit=MetricUnit.Count, value=team.dropped)
        if team.changed_projects:
            try:
                live_sprints.refresh_changed_boards(team)
            except JiraThrottledError as exc:  # the events are applied: only the boards wait
                logger.warning(
                    "Sprint refresh left for later: the site's Jira budget is busy",
                    extra={"team_id": team.team_id, "why": str(exc)},
                )
            live_metrics.request_refresh(team.team_id, time.time())


def apply_jira_events(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The SQS event source mapping's batch: `{"batchItemFailures": [...]}` for SQS to redeliver."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    records = event.get("Records") or []
    parsed: dict[str, LiveMessage] = {}
    for record in records:
        # A poison message is left out: its record fails below, and after maxReceiveCount it is
        # dead-lettered.
        with contextlib.suppress(ValueError, KeyError, TypeError):
            parsed[record["messageId"]] = parse_message(record["body"])
    teams = prepare(list(parsed.values()))

    def handle(record: SQSRecord) -> str:
        message = parsed.get(record.message_id)
        if message is None:
            raise ValueError("The queued message is not a live-update message.")
        return _idempotent_apply(message, teams[message.team_id], context)

    answer: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    _finish(teams)
    calls = sum(t.jira_calls for t in teams.values())
    logger.info(
        "Live events applied",
        extra={
            "records": len(records),
            "failed": len(answer.get("batchItemFailures", [])),
            "jira_calls": calls,
        },
    )
    return answer
