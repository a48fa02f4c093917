"""A team's tracked projects: their plan, progress and outcome, each change a method of its own.

Every change made for a run is conditional on that run still owning the project (`run_id`): a
newer run that took the project over is never overwritten by an older one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from jira_onboarding.dal.items import as_dict, is_conditional_failure, require_team
from jira_onboarding.dal.tables import TrackedProjectItem, bind_tables, utcnow
from jira_onboarding.jira.structure import ProjectVersion
from jira_onboarding.records import SyncStatus, TrackedProject


class ProjectStore:
    """One team's tracked projects (runs record them: `RunStore.record`)."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    # ---- reads -----------------------------------------------------------------------------
    def get(self, project_key: str) -> TrackedProject | None:
        try:
            return TrackedProject.model_validate(as_dict(TrackedProjectItem.get(self.team_id, project_key)))
        except DoesNotExist:
            return None

    def list_tracked(self, *, attributes: Iterable[str] | None = None) -> list[TrackedProject]:
        """Every project the team tracks or tracked. With `attributes`, only those are read (the
        others take their defaults)."""
        names = sorted({"team_id", "project_key", *attributes}) if attributes is not None else None
        items = TrackedProjectItem.query(self.team_id, attributes_to_get=names)
        return [TrackedProject.model_validate(as_dict(i)) for i in items]

    def among(
        self, project_keys: Iterable[str], *, attributes: Iterable[str] | None = None
    ) -> list[TrackedProject]:
        """The tracked projects among `project_keys`, in that order: one Query of the team's
        projects rather than a read per key."""
        tracked = {p.project_key: p for p in self.list_tracked(attributes=attributes)}
        return [tracked[key] for key in project_keys if key in tracked]

    # ---- a run's changes -------------------------------------------------------------------
    def save_plan(
        self,
        project_key: str,
        *,
        run_id: str,
        started_at: datetime,
        sync_mode: Literal["full", "incremental"],
        segments: dict[str, dict[str, Any]],
        issues_total_estimate: int | None,
        phase: str | None,
        fresh_store: bool | None = None,
    ) -> bool:
        """SYNCING with the run's plan. A full sync starts its progress (`issues_fetched`) afresh
        and says whether the store held nothing of the project (`fresh_store`); `issues_stored`
        stays what the store holds until the run completes."""
        actions = [
            TrackedProjectItem.sync_status.set(SyncStatus.SYNCING.value),
            TrackedProjectItem.started_at.set(started_at),
            TrackedProjectItem.sync_mode.set(sync_mode),
            TrackedProjectItem.segments.set(segments),
            TrackedProjectItem.plan_run_id.set(run_id),
            TrackedProjectItem.throttled_seconds.set(0),  # the allowances are per run
            TrackedProjectItem.held_seconds.set(0),
            _set_or_remove(TrackedProjectItem.issues_total_estimate, issues_total_estimate),
            _set_or_remove(TrackedProjectItem.phase, phase),
        ]
        if sync_mode == "full":
            actions += [
                TrackedProjectItem.issues_fetched.set(0),
                TrackedProjectItem.issues_previewed.remove(),
                _set_or_remove(TrackedProjectItem.fresh_store, fresh_store),
            ]
        return self._update(project_key, actions, run_id=run_id)

    def mark_structure_refreshed(
        self,
        project_key: str,
        *,
        run_id: str,
        estimation_field: str | None,
        versions: Sequence[ProjectVersion] | None = None,
    ) -> bool:
        """The project's boards and sprints are stored for this run, with its board's estimation
        field and its versions (their release dates)."""
        actions = [
            TrackedProjectItem.structure_run_id.set(run_id),
            _set_or_remove(TrackedProjectItem.estimation_field, estimation_field),
        ]
        if versions is not None:
            actions.append(TrackedProjectItem.versions.set([v.model_dump(mode="json") for v in versions]))
        return self._update(project_key, actions, run_id=run_id)

    def mark_structure_checked(self, project_key: str, *, run_id: str) -> bool:
        """An incremental run's work before its first page is done (its boards and sprints are
        refreshed at the end, if at all)."""
        return self._update(project_key, [TrackedProjectItem.structure_run_id.set(run_id)], run_id=run_id)

    def mark_swept(self, project_key: str, *, at: datetime) -> bool:
        """The id-only pass over the project (deleted issues flagged) ran at `at`."""
        return self._update(project_key, [TrackedProjectItem.last_swept_at.set(at)])

    def set_issues_previewed(self, project_key: str, *, run_id: str, count: int) -> bool:
        """Issues a first sync stored ahead of their batch: set, not added (a retried first page is
        the same page)."""
        return self._update(project_key, [TrackedProjectItem.issues_previewed.set(count)], run_id=run_id)

    def set_issues_stored(self, project_key: str, count: int) -> bool:
        """What the store holds for the project, counted after a sweep."""
        return self._update(project_key, [TrackedProjectItem.issues_stored.set(count)])

    def add_throttle_wait(self, project_key: str, seconds: int, *, held: bool = False) -> int:
        """Add a Wait For Jira pause to the run's total of its kind (`held`: our site budget held the
        call, Jira was not asked; otherwise Jira answered 429); returns the new total."""
        item = TrackedProjectItem(self.team_id, project_key)
        attribute = TrackedProjectItem.held_seconds if held else TrackedProjectItem.throttled_seconds
        item.update(actions=[attribute.add(seconds)])
        return int(getattr(item, attribute.attr_name) or 0)

    def commit_segment(
        self,
        project_key: str,
        *,
        run_id: str,
        segment: str,
        previous_cursor: str | None,
        next_cursor: str | None,
        issues_fetched: int,
        issues_written: int,
        pages: int,
        done: bool,
    ) -> TrackedProject | None:
        """Advance a segment's cursor after its pages' issues are saved (`issues_fetched` of them,
        `issues_written` of those new or changed), counting them once: the
        update only applies while the segment's cursor is still the one the pages were fetched from,
        so a replay (a lost response, a retried invocation) neither double counts nor moves back.
        Returns the project as it is after the update, or None if the update did not apply."""
        state = TrackedProjectItem.segments[segment]
        condition = (TrackedProjectItem.run_id == run_id) & (
            TrackedProjectItem.sync_status == SyncStatus.SYNCING.value
        )
        condition &= state["done"] == False  # noqa: E712 - a DynamoDB condition
        if previous_cursor is None:
            condition &= state["cursor"].does_not_exist()
        else:
            condition &= state["cursor"] == previous_cursor
        actions: list[Action] = [
            TrackedProjectItem.pages_synced.add(pages),
            TrackedProjectItem.issues_fetched.add(issues_fetched),
            TrackedProjectItem.issues_written.add(issues_written),
            TrackedProjectItem.updated_at.set(utcnow()),
            state["cursor"].set(next_cursor) if next_cursor else state["cursor"].remove(),
            state["done"].set(done),
        ]
        if done and segment == "recent":
            actions.append(TrackedProjectItem.phase.set("backfill"))  # the project's older issues next
        item = TrackedProjectItem(self.team_id, project_key)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return TrackedProject.model_validate(as_dict(item))

    def complete(
        self,
        project_key: str,
        *,
        run_id: str,
        synced_from: datetime,
        issues_stored: int | None = None,
        last_swept_at: datetime | None = None,
    ) -> bool:
        """COMPLETE for this run. `synced_from` (when the run began) becomes the next incremental
        run's starting point, so edits made while the sync ran are picked up next time. With
        `issues_stored` (what the store holds) and `last_swept_at` when the run knows them."""
        actions = [
            TrackedProjectItem.sync_status.set(SyncStatus.COMPLETE.value),
            TrackedProjectItem.finished_at.set(utcnow()),
            TrackedProjectItem.last_synced_at.set(synced_from),
            TrackedProjectItem.phase.remove(),
            TrackedProjectItem.reason.remove(),
            TrackedProjectItem.error_name.remove(),
            TrackedProjectItem.next_retry_at.remove(),
        ]
        if issues_stored is not None:
            actions.append(TrackedProjectItem.issues_stored.set(issues_stored))
        if last_swept_at is not None:
            actions.append(TrackedProjectItem.last_swept_at.set(last_swept_at))
        return self._update(project_key, actions, run_id=run_id)

    def mark_failed(
        self, project_key: str, *, run_id: str, error_name: str, reason: str, at: datetime, retry_at: datetime
    ) -> bool:
        """FAILED for this run, with why, and when the nightly retry picks the project up."""
        return self._update(
            project_key,
            [
                TrackedProjectItem.sync_status.set(SyncStatus.FAILED.value),
                TrackedProjectItem.error_name.set(error_name),
                TrackedProjectItem.reason.set(reason),
                TrackedProjectItem.next_retry_at.set(retry_at),
                TrackedProjectItem.finished_at.set(at),
                TrackedProjectItem.phase.remove(),
            ],
            run_id=run_id,
        )

    def _update(self, project_key: str, actions: Sequence[Action], *, run_id: str | None = None) -> bool:
        """Apply `actions` to a tracked project; with `run_id`, only while that run owns it."""
        condition = TrackedProjectItem.project_key.exists()
        if run_id is not None:
            condition &= TrackedProjectItem.run_id == run_id
        try:
            TrackedProjectItem(self.team_id, project_key).update(
                actions=[TrackedProjectItem.updated_at.set(utcnow()), *actions], condition=condition
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True


def _set_or_remove(attribute: Any, value: Any) -> Action:
    return attribute.remove() if value is None else attribute.set(value)
