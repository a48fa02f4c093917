"""A team's onboarding runs: recording one (with its projects), reading them, and each change to one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from jira_onboarding.dal.connections import ConnectionStore
from jira_onboarding.dal.items import as_dict, is_conditional_failure, require_team
from jira_onboarding.dal.tables import OnboardingRunItem, TrackedProjectItem, bind_tables, put_items, utcnow
from jira_onboarding.errors import NotConnectedError, ReconnectNeededError
from jira_onboarding.records import OnboardingRun, RunStatus, SyncStatus

# What a project tracked again keeps from its previous runs (the rest starts afresh), and what the
# start reads of the team's tracked projects to know it.
_KEPT_WHEN_TRACKED_AGAIN = ("last_synced_at", "last_swept_at", "estimation_field", "issues_stored")
_TRACKING_READ = ["project_key", "selected", *_KEPT_WHEN_TRACKED_AGAIN]


def _require_connection(team_id: str) -> None:
    """NotConnectedError without a connection; ReconnectNeededError while its grant is gone."""
    connection = ConnectionStore(team_id).get()
    if connection is None:
        raise NotConnectedError(team_id)
    if connection.reconnect_reason:
        raise ReconnectNeededError()


class RunStore:
    """One team's runs. A run and the PENDING tracking of its projects are written together."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def record(
        self,
        run_id: str,
        project_keys: Iterable[str],
        *,
        trigger: str = "selection",
        status: RunStatus = RunStatus.RUNNING,
        execution_arn: str | None = None,
        reason: str | None = None,
        untrack_others: bool = False,
        require_connection: bool = False,
    ) -> list[str]:
        """Write a run and track each of its projects PENDING for it.

        Each project's cursor is reset; data already stored for it stays (a new run refreshes it in
        place). With `untrack_others` (a new selection), the team's projects left out stop being
        synced and keep their data; returns their keys. With `require_connection`, nothing is
        written unless the team has a Jira connection (NotConnectedError).

        One read of the connection (when required), one Query of the team's projects, one
        BatchWriteItem per 25 items, and one update per project left out (if the selection shrank).
        """
        selected = list(dict.fromkeys(project_keys))
        existing = {
            item.project_key: item
            for item in TrackedProjectItem.query(self.team_id, attributes_to_get=_TRACKING_READ)
        }
        if require_connection:
            _require_connection(self.team_id)
        now = utcnow()
        items: list[Model] = [
            OnboardingRunItem(
                self.team_id,
                run_id,
                project_keys=selected,
                status=status.value,
                trigger=trigger,
                execution_arn=execution_arn,
                reason=reason,
            )
        ]
        for key in selected:
            item = TrackedProjectItem(
                self.team_id, key, sync_status=SyncStatus.PENDING.value, run_id=run_id, updated_at=now
            )
            if key in existing:
                for name in _KEPT_WHEN_TRACKED_AGAIN:
                    setattr(item, name, getattr(existing[key], name))
            items.append(item)
        put_items(items)
        if not untrack_others:
            return []
        dropped = [key for key, item in existing.items() if key not in selected and item.selected]
        for key in dropped:
            # An update, not a put of the item read above: the previous run may still be writing
            # this project's progress, and a put would undo what it wrote since the Query.
            TrackedProjectItem(self.team_id, key).update(
                actions=[TrackedProjectItem.selected.set(False), TrackedProjectItem.updated_at.set(now)]
            )
        return dropped

    def claim(self, run_id: str, *, trigger: str) -> bool:
        """Reserve a run id with a conditional put: False when it exists already. A nightly run id
        is the same for every start of one team's night, so a repeat is refused, not run twice."""
        item = OnboardingRunItem(
            self.team_id, run_id, status=RunStatus.QUEUED.value, trigger=trigger, reason="Starting."
        )
        try:
            item.save(condition=OnboardingRunItem.run_id.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def release_claim(self, run_id: str) -> None:
        """Give back a claimed run id that turned out to have nothing to run."""
        try:
            OnboardingRunItem(self.team_id, run_id).delete(
                condition=(OnboardingRunItem.status == RunStatus.QUEUED.value)
                & OnboardingRunItem.execution_arn.does_not_exist()
            )
        except DeleteError as exc:
            if not is_conditional_failure(exc):
                raise

    def get(self, run_id: str) -> OnboardingRun | None:
        try:
            return OnboardingRun.model_validate(as_dict(OnboardingRunItem.get(self.team_id, run_id)))
        except DoesNotExist:
            return None

    def latest(self) -> OnboardingRun | None:
        # run ids are time-ordered, so the last one in key order is the newest
        for item in OnboardingRunItem.query(self.team_id, scan_index_forward=False, limit=1):
            return OnboardingRun.model_validate(as_dict(item))
        return None

    def mark_queued(self, run_id: str, reason: str) -> None:
        """The execution could not be started: the nightly batch runs the run's projects."""
        self._update(
            run_id,
            [
                OnboardingRunItem.status.set(RunStatus.QUEUED.value),
                OnboardingRunItem.reason.set(reason),
                OnboardingRunItem.execution_arn.remove(),
            ],
        )

    def set_execution_arn(self, run_id: str, execution_arn: str) -> None:
        self._update(run_id, [OnboardingRunItem.execution_arn.set(execution_arn)])

    def record_users(
        self, run_id: str, summary: dict[str, Any], *, fetched: int | None = None, matched: int | None = None
    ) -> None:
        """The users step's summary; with `fetched`/`matched` when the users were fetched this run."""
        actions: list[Action] = [OnboardingRunItem.users_summary.set(summary)]
        if fetched is not None:
            actions.append(OnboardingRunItem.users_fetched.set(fetched))
        if matched is not None:
            actions.append(OnboardingRunItem.users_matched.set(matched))
        self._update(run_id, actions)

    def add_users_wait(self, run_id: str, seconds: int) -> int:
        """Add a Wait For Jira pause of the users step to the run's total; returns the new total."""
        item = OnboardingRunItem(self.team_id, run_id)
        item.update(actions=[OnboardingRunItem.users_waited_seconds.add(seconds)])
        return int(item.users_waited_seconds or 0)

    def record_users_error(self, run_id: str, reason: str) -> None:
        self._update(run_id, [OnboardingRunItem.users_error.set(reason)])

    def finish(self, run_id: str, status: RunStatus, *, at: datetime) -> None:
        self._update(
            run_id, [OnboardingRunItem.status.set(status.value), OnboardingRunItem.finished_at.set(at)]
        )

    def add_jira_cost(self, run_id: str, calls: int, points: int) -> None:
        """Add what a step's Jira calls cost to the run (an atomic ADD: steps run concurrently)."""
        try:
            OnboardingRunItem(self.team_id, run_id).update(
                actions=[OnboardingRunItem.jira_calls.add(calls), OnboardingRunItem.jira_points.add(points)],
                condition=OnboardingRunItem.run_id.exists(),
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise  # a run that is gone keeps no cost

    def _update(self, run_id: str, actions: Sequence[Action]) -> None:
        OnboardingRunItem(self.team_id, run_id).update(actions=list(actions))
