"""Commits of a segment's batches, on a thread of their own (see `SegmentCommitter`)."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from jira_onboarding.contracts import ProjectStepInput
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.records import TrackedProject


class SegmentCommitter:
    """Stores a segment's batches and advances its cursor on a thread of its own, one batch at a
    time and in order, while the invocation fetches the next batch: storing 1,000 issues is 40
    BatchWriteItem calls, which would otherwise sit on the segment's chain of pages.

    A batch is committed only after the previous one: `submit` first waits for it. A crash loses at
    most the batch being written and the one being fetched, and both are refetched from the cursor
    the last commit saved.
    """

    def __init__(self, repo: TeamStores, step: ProjectStepInput, *, fresh: bool) -> None:
        self._repo = repo
        self._step = step
        self._fresh = fresh
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        self._in_flight: Future[TrackedProject | None] | None = None
        self.written = 0
        self.progress_at: float | None = None  # monotonic time of the last batch handed over
        self.after: TrackedProject | None = None  # the project after the last commit that applied

    def submit(
        self, issues: list[JiraIssue], *, previous_cursor: str | None, next_cursor: str | None, pages: int
    ) -> bool:
        """Wait for the previous batch, then start this one; False if a commit did not apply."""
        if not self.wait():
            return False
        self._in_flight = self._pool.submit(self._commit, issues, previous_cursor, next_cursor, pages)
        self.progress_at = time.monotonic()
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
        written = self._repo.issues.save(issues, run_id=step.run_id, fresh=self._fresh)
        self.written += written
        return self._repo.projects.commit_segment(
            step.project_key,
            run_id=step.run_id,
            segment=step.segment,
            previous_cursor=previous_cursor,
            next_cursor=next_cursor,
            issues_fetched=len(issues),
            issues_written=written,
            pages=pages,
            done=next_cursor is None,
        )
