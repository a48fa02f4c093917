"""Sync Segment: fetch and commit one segment of a project from its saved cursor (see `plan_sync`
for segments) until it is done or the invocation is close to its time budget.

The step reads: guard (is this still the run's segment?), prepare (boards, sprints, the sweep),
for each batch commit (issues first, then the segment's cursor, so a crash resumes from the last
commit and a replayed batch rewrites the same items), complete. A long throttle is returned as
`wait_seconds` for the state machine's Wait state; the cursor is already saved.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from jira_onboarding.budget import Priority
from jira_onboarding.contracts import ProjectStepInput, SegmentResult
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
from jira_onboarding.jira.client import BULK_CHANGELOG_MAX_ISSUES, JiraClient
from jira_onboarding.jira.models import FieldMap, parse_issue
from jira_onboarding.logic.jira_access.changelog import attach_changelogs
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.jira_access.waits import (
    MAX_HELD_SECONDS,
    MAX_THROTTLED_SECONDS,
    handed_wait_seconds,
)
from jira_onboarding.logic.run.batching import Batch, batches, bounded_issue
from jira_onboarding.logic.run.lifecycle import finish_project, prepare_project
from jira_onboarding.logic.run.segment_commit import SegmentCommitter
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import ProjectSegment, SyncStatus, TrackedProject
from jira_onboarding.settings import get_settings

# Issues per commit: one bulk changelog call covers up to 1,000 issues (ten search pages).
CHANGELOG_BATCH_ISSUES = BULK_CHANGELOG_MAX_ISSUES
# The state machine's bound on one segment's Sync Segment invocations ("More Pages?" reads it; a
# test checks that the ASL says the same number). Each invocation runs for minutes or waits for
# Jira's quota, so a real segment needs a handful; a Jira that pages forever is stopped here even
# if every single invocation looks like progress.
MAX_SEGMENT_INVOCATIONS = 500


class _Replayed(Exception):  # noqa: N818 - control flow, never leaves this module
    """Another invocation committed this cursor first (a replay): its outcome stands."""


@dataclass
class _Work:
    """What one invocation needs to fetch a segment's pages."""

    client: JiraClient
    repo: TeamStores
    step: ProjectStepInput
    segment: ProjectSegment
    field_map: FieldMap
    estimation_field: str | None
    fresh: bool
    dropped: Counter[str] = field(default_factory=Counter)  # issues dropped or reduced, by why
    bad_fields: Counter[str] = field(default_factory=Counter)  # field values read as null, by field


def sync_segment(step: ProjectStepInput, *, time_left_s: Callable[[], float]) -> SegmentResult:
    """Fetch and commit pages of one segment from its saved cursor until done or out of time."""
    repo = TeamStores(step.team_id)
    logger.append_keys(run_id=step.run_id, project_key=step.project_key, segment=step.segment)
    project, proceed = _guard(step, repo)
    if not proceed:
        return _result(step, project, done=True)
    assert project is not None
    started = time.monotonic()
    # A first sync has a person waiting; an incremental refresh gives way to it on a shared site.
    priority = Priority.REFRESH if project.sync_mode == "incremental" else Priority.ONBOARDING
    client = open_jira(step.team_id, repo, time_left_s=time_left_s, priority=priority, run_id=step.run_id)
    committer: SegmentCommitter | None = None
    try:
        project = prepare_project(client, repo, project, step.run_id)
        work = _work(client, repo, project, step)
        if work is None:  # the segment was done already: a replayed final invocation
            return _complete_if_last(client, repo, project, step)
        committer = SegmentCommitter(repo, step, fresh=work.fresh)
        last = _commit_batches(work, committer, time_left_s)
        if last and committer.after is not None:
            _complete_if_last(client, repo, committer.after, step)
        done, wait = last, 0
    except _Replayed:
        logger.warning("Segment cursor moved on meanwhile; stopping this invocation")
        done, wait = False, 0
    except JiraThrottledError as exc:
        if exc.retry_after is None:
            raise
        done, wait = False, _throttled(repo, step, committer, exc, started)
    finally:
        if committer is not None:
            committer.close()  # no write outlives the invocation (a frozen Lambda would hold it)
        client.close()
        written = committer.written if committer else 0
        metrics.add_metric(name="JiraIssuesWritten", unit=MetricUnit.Count, value=written)
    return _result(step, repo.projects.get(step.project_key), done=done, wait_seconds=wait)


def _guard(step: ProjectStepInput, repo: TeamStores) -> tuple[TrackedProject | None, bool]:
    """The project, and whether this invocation still has work on it."""
    project = repo.projects.get(step.project_key)
    if project is None or project.run_id != step.run_id:
        # A newer run took this project over (or it was never tracked): nothing for this run to do.
        logger.warning("Project no longer belongs to this run; skipping")
        return None, False
    # COMPLETE: a replayed final invocation (the work is committed); FAILED: another segment failed it.
    return project, project.sync_status not in {SyncStatus.COMPLETE, SyncStatus.FAILED}


def _work(
    client: JiraClient, repo: TeamStores, project: TrackedProject, step: ProjectStepInput
) -> _Work | None:
    segment = project.segments.get(step.segment)
    if segment is None:
        raise ValueError(f"No segment {step.segment!r} is planned for project {step.project_key}.")
    if segment.done:
        return None
    connection = repo.connection.get()
    field_map = FieldMap.model_validate((connection.field_map if connection else None) or {})
    return _Work(client, repo, step, segment, field_map, project.estimation_field, bool(project.fresh_store))


def _commit_batches(work: _Work, committer: SegmentCommitter, time_left_s: Callable[[], float]) -> bool:
    """Commit batches until the segment's last page or the time budget; True at the last page."""
    settings = get_settings()
    step, segment = work.step, work.segment
    extra = (work.estimation_field,) if work.estimation_field else ()
    pages = work.client.iter_search_pages(
        segment.jql,
        fields=work.field_map.issue_fields(extra=extra),
        start=segment.cursor,
        max_results=settings.jira_page_size,
        what=f"project {step.project_key}",
    )
    low_on_time = lambda: time_left_s() < settings.sync_time_reserve_s  # noqa: E731
    # The first page of a first sync is also stored at once, before its changelog: the team sees
    # issues within seconds (the status counts them as previewed), and its batch rewrites them.
    preview = work.fresh and segment.phase == "recent" and segment.cursor is None
    last = False
    for batch in batches(
        pages,
        parse=partial(
            parse_issue,
            field_map=work.field_map,
            estimation_field=work.estimation_field,
            problems=work.bad_fields,
        ),
        project_key=step.project_key,
        max_issues=CHANGELOG_BATCH_ISSUES,
        cut=low_on_time,
        preview=preview,
    ):
        if batch.preview:
            _store_preview(work, batch)
            continue
        _commit(work, committer, batch)
        last = batch.last
        if last or low_on_time():
            break
    if not committer.wait():
        raise _Replayed
    _warn_dropped(work)
    return last


def _store_preview(work: _Work, batch: Batch) -> None:
    work.repo.issues.save(batch.issues, run_id=work.step.run_id, fresh=True)
    # Set, not added: a project has one recent segment, and a retried first page is the same page.
    work.repo.projects.set_issues_previewed(
        work.step.project_key, run_id=work.step.run_id, count=len(batch.issues)
    )


def _commit(work: _Work, committer: SegmentCommitter, batch: Batch) -> None:
    """Attach the batch's histories, bound its items and hand it to the committer."""
    work.dropped.update(batch.dropped)
    issues = attach_changelogs(work.client, batch.issues, work.field_map.sprint_field)
    issues = [kept for issue in issues if (kept := bounded_issue(issue, work.dropped)) is not None]
    if not committer.submit(
        issues, previous_cursor=batch.previous_cursor, next_cursor=batch.next_cursor, pages=batch.pages
    ):
        raise _Replayed


def _warn_dropped(work: _Work) -> None:
    if work.dropped:
        logger.warning(
            "Issues from Jira dropped or reduced before storing", extra={"counts": dict(work.dropped)}
        )
    if work.bad_fields:
        logger.warning(
            "Jira field values of the wrong shape stored as null", extra={"fields": dict(work.bad_fields)}
        )


def _complete_if_last(
    client: JiraClient, repo: TeamStores, project: TrackedProject | None, step: ProjectStepInput
) -> SegmentResult:
    """COMPLETE the project when every segment is done (this one finished its last part)."""
    if project is not None and all(s.done for s in project.segments.values()):
        finish_project(client, repo, project, step.run_id)
    return _result(step, repo.projects.get(step.project_key), done=True)


def _throttled(
    repo: TeamStores,
    step: ProjectStepInput,
    committer: SegmentCommitter | None,
    exc: JiraThrottledError,
    started: float,
) -> int:
    """The pause to hand to Wait For Jira, after committing what was fetched before the throttle.
    Counted in real time: the wait plus what this invocation spent since its last progress."""
    if committer is not None and not committer.wait():
        raise _Replayed from exc
    wait = handed_wait_seconds(exc)
    since = committer.progress_at if committer is not None and committer.progress_at else started
    spent = math.ceil(time.monotonic() - since)
    waited = repo.projects.add_throttle_wait(step.project_key, wait + spent, held=exc.held)
    if waited > (MAX_HELD_SECONDS if exc.held else MAX_THROTTLED_SECONDS):
        what = "this project's site" if exc.held else "this project"
        raise JiraRateLimitExhaustedError(
            f"Jira kept {what} rate limited longer than a run waits; the nightly retry will run it again."
        ) from exc
    logger.warning(
        "Held by the site's budget; handing the wait to the state machine"
        if exc.held
        else "Jira asked for a long pause; handing it to the state machine",
        extra={"wait": wait, "why": str(exc)},  # our sentence or Jira's scrubbed text: no secret
    )
    return wait


def _result(
    step: ProjectStepInput, project: TrackedProject | None, *, done: bool, wait_seconds: int = 0
) -> SegmentResult:
    return SegmentResult(
        **step.model_dump(exclude={"invocations"}),
        done=done,
        wait_seconds=wait_seconds,
        invocations=step.invocations + 1,
        pages_synced=project.pages_synced if project else 0,
        issues_fetched=project.issues_fetched if project else 0,
    )


def lambda_time_left(context: object) -> Callable[[], float]:
    """Seconds left in this invocation, from the Lambda context (or a generous default locally)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        deadline = time.monotonic() + 900
        return lambda: deadline - time.monotonic()
    return lambda: getter() / 1000.0
