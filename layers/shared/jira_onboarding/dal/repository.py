"""Every read and write of the tables, each scoped to one team."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from jira_onboarding.dal.tables import (
    InsightItem,
    JiraBoardItem,
    JiraConnectionItem,
    JiraIssueItem,
    JiraSprintItem,
    JiraUserItem,
    MetricsSnapshotItem,
    OnboardingRunItem,
    PullRequestItem,
    TeamMemberItem,
    TrackedProjectItem,
    bind_tables,
    put_items,
    serialize_values,
    utcnow,
)
from jira_onboarding.errors import NotConnectedError
from jira_onboarding.jira.models import FieldChange, JiraBoard, JiraIssue, JiraSprint, JiraUser
from jira_onboarding.metrics.issues import STORED_ATTRIBUTES, MetricIssue, MetricIssueBuilder
from jira_onboarding.records import (
    JiraConnection,
    MetricsSnapshot,
    OnboardingRun,
    PullRequest,
    RunStatus,
    StoredInsight,
    SyncStatus,
    TeamMember,
    TrackedProject,
)


def _as_dict(item: Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in item.get_attributes():
        value = getattr(item, name)
        if isinstance(value, set):
            value = sorted(value)
        elif value is None:
            continue  # absent attributes take the record's default
        elif hasattr(value, "as_dict"):
            value = value.as_dict()
        data[name] = value
    return data


def _change_json(change: FieldChange) -> dict[str, Any]:
    return {"at": change.at.isoformat(), "from": change.from_value, "to": change.to_value}


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


ISSUE_WRITE_THREADS = 4
# What a project tracked again keeps from its previous runs (the rest starts afresh), and what the
# start reads of the team's tracked projects to know it.
_KEPT_WHEN_TRACKED_AGAIN = ("last_synced_at", "last_swept_at", "estimation_field", "issues_stored")
_TRACKING_READ = ["project_key", "selected", *_KEPT_WHEN_TRACKED_AGAIN]


class Repository:
    """Data access for one team. Constructed per invocation; binds the tables lazily."""

    def __init__(self, team_id: str) -> None:
        if not team_id:
            raise ValueError("a team id is required for every data access")
        bind_tables()
        self.team_id = team_id

    # ---- connection ------------------------------------------------------------------------
    def get_connection(self) -> JiraConnection | None:
        try:
            return JiraConnection.model_validate(_as_dict(JiraConnectionItem.get(self.team_id)))
        except DoesNotExist:
            return None

    def save_connection(self, site_url: str, auth_kind: str, *, credentials_envelope: str) -> JiraConnection:
        item = JiraConnectionItem(
            self.team_id, site_url=site_url, auth_kind=auth_kind, credentials_envelope=credentials_envelope
        )
        item.save()
        return JiraConnection.model_validate(_as_dict(item))

    def read_credentials(self) -> tuple[str | None, str | None]:
        """(envelope, legacy secret name) of the team's connection, read consistently: the OAuth
        tokens may have been rotated by another Lambda a moment ago."""
        try:
            item = JiraConnectionItem.get(
                self.team_id, consistent_read=True, attributes_to_get=["credentials_envelope", "secret_name"]
            )
        except DoesNotExist:
            return None, None
        return item.credentials_envelope, item.secret_name

    def replace_credentials(self, envelope: str, *, lease_owner: str) -> bool:
        """Store rotated credentials, only while `lease_owner` still holds the refresh lease."""
        try:
            JiraConnectionItem(self.team_id).update(
                actions=[JiraConnectionItem.credentials_envelope.set(envelope)],
                condition=JiraConnectionItem.refresh_lease_owner == lease_owner,
            )
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def migrate_credentials(self, envelope: str | None, *, secret_name: str) -> bool:
        """Move a connection off its Secrets Manager secret: store the envelope (None: keep the one
        stored since, by a token rotation) and forget the secret's name, unless the connection was
        registered again meanwhile."""
        actions: list[Action] = [JiraConnectionItem.secret_name.remove()]
        condition = JiraConnectionItem.secret_name == secret_name
        if envelope is not None:
            actions.append(JiraConnectionItem.credentials_envelope.set(envelope))
            # never over tokens a rotation stored meanwhile: they are newer than the secret's
            condition &= JiraConnectionItem.credentials_envelope.does_not_exist()
        try:
            JiraConnectionItem(self.team_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def save_field_map(self, field_map: dict[str, Any]) -> None:
        JiraConnectionItem(self.team_id).update(actions=[JiraConnectionItem.field_map.set(field_map)])

    def acquire_refresh_lease(self, owner: str, now: float, ttl_s: float) -> bool:
        """Take the OAuth refresh lease unless another live holder has it (a conditional write)."""
        condition = JiraConnectionItem.refresh_lease_until.does_not_exist() | (
            JiraConnectionItem.refresh_lease_until < now
        )
        try:
            JiraConnectionItem(self.team_id).update(
                actions=[
                    JiraConnectionItem.refresh_lease_owner.set(owner),
                    JiraConnectionItem.refresh_lease_until.set(now + ttl_s),
                ],
                condition=JiraConnectionItem.team_id.exists() & condition,
            )
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def release_refresh_lease(self, owner: str, *, rotated: bool) -> None:
        actions: list[Action] = [
            JiraConnectionItem.refresh_lease_owner.remove(),
            JiraConnectionItem.refresh_lease_until.remove(),
        ]
        if rotated:
            actions.append(JiraConnectionItem.token_version.add(1))
        try:
            JiraConnectionItem(self.team_id).update(
                actions=actions, condition=JiraConnectionItem.refresh_lease_owner == owner
            )
        except UpdateError as exc:
            if not _is_conditional_failure(exc):
                raise

    # ---- runs ------------------------------------------------------------------------------
    def record_run(
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

        One read of the connection (when required), one Query of the team's projects and one
        BatchWriteItem over both tables per 25 items, plus one update per project left out (none
        unless the selection shrank).
        """
        selected = list(dict.fromkeys(project_keys))
        existing = {
            item.project_key: item
            for item in TrackedProjectItem.query(self.team_id, attributes_to_get=_TRACKING_READ)
        }
        if require_connection and self.get_connection() is None:
            raise NotConnectedError(self.team_id)
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

    def claim_run(self, run_id: str, *, trigger: str) -> bool:
        """Reserve a run id with a conditional put: False when it exists already. A nightly run id
        is the same for every start of one team's night, so a repeat is refused, not run twice."""
        item = OnboardingRunItem(
            self.team_id, run_id, status=RunStatus.QUEUED.value, trigger=trigger, reason="Starting."
        )
        try:
            item.save(condition=OnboardingRunItem.run_id.does_not_exist())
        except PutError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def release_run_claim(self, run_id: str) -> None:
        """Give back a claimed run id that turned out to have nothing to run."""
        try:
            OnboardingRunItem(self.team_id, run_id).delete(
                condition=(OnboardingRunItem.status == RunStatus.QUEUED.value)
                & OnboardingRunItem.execution_arn.does_not_exist()
            )
        except DeleteError as exc:
            if not _is_conditional_failure(exc):
                raise

    def get_run(self, run_id: str) -> OnboardingRun | None:
        try:
            return OnboardingRun.model_validate(_as_dict(OnboardingRunItem.get(self.team_id, run_id)))
        except DoesNotExist:
            return None

    def latest_run(self) -> OnboardingRun | None:
        # run ids are time-ordered, so the last one in key order is the newest
        for item in OnboardingRunItem.query(self.team_id, scan_index_forward=False, limit=1):
            return OnboardingRun.model_validate(_as_dict(item))
        return None

    def update_run(self, run_id: str, **values: Any) -> None:
        actions: list[Action] = []
        for name, value in values.items():
            attr: Attribute = getattr(OnboardingRunItem, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        OnboardingRunItem(self.team_id, run_id).update(actions=actions)

    # ---- tracked projects ------------------------------------------------------------------
    def get_project(self, project_key: str) -> TrackedProject | None:
        try:
            return TrackedProject.model_validate(_as_dict(TrackedProjectItem.get(self.team_id, project_key)))
        except DoesNotExist:
            return None

    def projects_of(
        self, project_keys: Iterable[str], *, attributes: Iterable[str] | None = None
    ) -> list[TrackedProject]:
        """The tracked projects among `project_keys`, in that order: one Query of the team's
        projects rather than a read per key. With `attributes`, only those are read (the others
        take their defaults)."""
        tracked = {p.project_key: p for p in self.list_projects(attributes=attributes)}
        return [tracked[key] for key in project_keys if key in tracked]

    def list_projects(self, *, attributes: Iterable[str] | None = None) -> list[TrackedProject]:
        names = sorted({"team_id", "project_key", *attributes}) if attributes is not None else None
        items = TrackedProjectItem.query(self.team_id, attributes_to_get=names)
        return [TrackedProject.model_validate(_as_dict(i)) for i in items]

    def update_project(self, project_key: str, *, expected_run_id: str | None = None, **values: Any) -> bool:
        """Set fields on a tracked project; with `expected_run_id`, only while that run owns it."""
        actions: list[Action] = [TrackedProjectItem.updated_at.set(utcnow())]
        for name, value in values.items():
            attr: Attribute = getattr(TrackedProjectItem, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        condition = TrackedProjectItem.project_key.exists()
        if expected_run_id is not None:
            condition &= TrackedProjectItem.run_id == expected_run_id
        try:
            TrackedProjectItem(self.team_id, project_key).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def add_throttle_wait(self, project_key: str, seconds: int) -> int:
        """Add a Wait For Jira pause to the project's run total; returns the new total."""
        item = TrackedProjectItem(self.team_id, project_key)
        item.update(actions=[TrackedProjectItem.throttled_seconds.add(seconds)])
        return int(item.throttled_seconds or 0)

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
        """Advance a segment's cursor after its pages' issues are written, counting them once: the
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
            TrackedProjectItem.issues_stored.add(issues_fetched),
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
            if _is_conditional_failure(exc):
                return None
            raise
        return TrackedProject.model_validate(_as_dict(item))

    def complete_project(
        self, project_key: str, *, run_id: str, synced_from: datetime, **values: Any
    ) -> bool:
        """COMPLETE for this run. `synced_from` (when the run began) becomes the next incremental
        run's starting point, so edits made while the sync ran are picked up next time."""
        return self.update_project(
            project_key,
            expected_run_id=run_id,
            sync_status=SyncStatus.COMPLETE.value,
            finished_at=utcnow(),
            last_synced_at=synced_from,
            phase=None,
            reason=None,
            error_name=None,
            next_retry_at=None,
            **values,
        )

    # ---- members and users -----------------------------------------------------------------
    def list_members(self) -> list[TeamMember]:
        return [TeamMember.model_validate(_as_dict(i)) for i in TeamMemberItem.query(self.team_id)]

    def save_member(self, member: TeamMember) -> None:
        TeamMemberItem(
            self.team_id,
            member.member_id,
            github_login=member.github_login,
            display_name=member.display_name,
            emails=set(member.emails) or None,
            jira_account_id=member.jira_account_id,
            match_method=member.match_method,
            match_confidence=member.match_confidence,
        ).save()

    def set_member_match(
        self, member_id: str, account_id: str | None, method: str | None, confidence: float | None
    ) -> bool:
        """Apply an automatic match; never overwrites a match a person set by hand."""
        actions: list[Action] = [
            TeamMemberItem.jira_account_id.set(account_id)
            if account_id
            else TeamMemberItem.jira_account_id.remove(),
            TeamMemberItem.match_method.set(method) if method else TeamMemberItem.match_method.remove(),
            TeamMemberItem.match_confidence.set(confidence)
            if confidence is not None
            else TeamMemberItem.match_confidence.remove(),
            TeamMemberItem.matched_at.set(utcnow()),
        ]
        condition = TeamMemberItem.member_id.exists() & (
            TeamMemberItem.match_method.does_not_exist() | (TeamMemberItem.match_method != "manual")
        )
        try:
            TeamMemberItem(self.team_id, member_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def save_jira_users(self, users: Iterable[JiraUser]) -> int:
        """Store the site's users; unchanged ones are not rewritten. Returns items written."""
        stored = {
            item.account_id: (item.account_type, item.display_name, item.email_address, item.active)
            for item in JiraUserItem.query(self.team_id)
        }
        count = 0
        now = utcnow()
        with JiraUserItem.batch_write() as batch:
            for user in users:
                values = (user.account_type, user.display_name, user.email_address, user.active)
                if stored.get(user.account_id) == values:
                    continue
                batch.save(
                    JiraUserItem(
                        self.team_id,
                        user.account_id,
                        account_type=user.account_type,
                        display_name=user.display_name,
                        email_address=user.email_address,
                        active=user.active,
                        synced_at=now,
                    )
                )
                count += 1
        return count

    def mark_users_synced(self, members_digest: str) -> None:
        JiraConnectionItem(self.team_id).update(
            actions=[
                JiraConnectionItem.users_synced_at.set(utcnow()),
                JiraConnectionItem.users_members_digest.set(members_digest),
            ],
            condition=JiraConnectionItem.team_id.exists(),
        )

    def list_jira_users(self) -> list[JiraUser]:
        return [
            JiraUser.model_validate(
                {
                    "accountId": i.account_id,
                    "accountType": i.account_type,
                    "displayName": i.display_name,
                    "emailAddress": i.email_address,
                    "active": i.active,
                }
            )
            for i in JiraUserItem.query(self.team_id)
        ]

    # ---- issues, boards, sprints -----------------------------------------------------------
    def save_issues(self, issues: Iterable[JiraIssue], *, run_id: str | None, fresh: bool = False) -> int:
        """Upsert issues by key: a replayed page writes the same items, never duplicates. Items whose
        content is unchanged are not rewritten (a read costs half a write); with `fresh` (nothing of
        the project was stored before this run) there is nothing to compare with, so no read.
        Returns items written."""
        issues = list(issues)
        hashes = {issue.key: issue_content_hash(issue) for issue in issues}
        stored: dict[str, str | None] = {}
        if issues and not fresh:
            for item in JiraIssueItem.batch_get(
                [(self.team_id, key) for key in hashes],
                attributes_to_get=["issue_key", "content_hash", "deleted"],
            ):
                stored[item.issue_key] = None if item.deleted else item.content_hash
        now = utcnow()
        items = [
            serialize_values(
                JiraIssueItem,
                {
                    "team_id": self.team_id,
                    "issue_key": issue.key,
                    "issue_id": issue.id,
                    "project_key": issue.project_key,
                    "summary": issue.summary,
                    "status_name": issue.status_name,
                    "status_category": issue.status_category,
                    "issue_type": issue.issue_type,
                    "is_subtask": issue.is_subtask,
                    "priority": issue.priority,
                    "assignee_account_id": issue.assignee_account_id,
                    "reporter_account_id": issue.reporter_account_id,
                    "created": issue.created,
                    "updated": issue.updated,
                    "resolved": issue.resolved,
                    "labels": list(issue.labels),
                    "parent_key": issue.parent_key,
                    "sprint_ids": list(issue.sprint_ids),
                    "story_points": issue.story_points,
                    "sprint_changes": [_change_json(c) for c in issue.sprint_changes] or None,
                    "status_changes": [_change_json(c) for c in issue.status_changes] or None,
                    "deleted": False,
                    "content_hash": hashes[issue.key],
                    "run_id": run_id,
                    "synced_at": now,
                },
            )
            for issue in issues
            if stored.get(issue.key) != hashes[issue.key]
        ]
        # A batch of 1,000 issues is 40 requests of 25: four at a time, not one after another.
        put_items(items, threads=ISSUE_WRITE_THREADS)
        return len(items)

    def live_issue_keys(self, project_key: str) -> set[str]:
        """Keys of the project's stored issues not marked deleted (keys only)."""
        return {
            item.issue_key
            for item in JiraIssueItem.query(
                self.team_id,
                range_key_condition=JiraIssueItem.issue_key.startswith(f"{project_key}-"),
                filter_condition=JiraIssueItem.deleted == False,  # noqa: E712 - a DynamoDB condition
                attributes_to_get=["issue_key"],
            )
        }

    def mark_issues_deleted(self, keys: Iterable[str]) -> int:
        """Issues Jira no longer returns (deleted, moved or hidden): kept, flagged, never counted."""
        count = 0
        for key in keys:
            JiraIssueItem(self.team_id, key).update(
                actions=[JiraIssueItem.deleted.set(True), JiraIssueItem.synced_at.set(utcnow())],
                condition=JiraIssueItem.issue_key.exists(),
            )
            count += 1
        return count

    def iter_issues(self, project_key: str | None = None) -> Iterator[dict[str, Any]]:
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-") if project_key else None
        for item in JiraIssueItem.query(self.team_id, range_key_condition=condition):
            yield _as_dict(item)

    def has_issues(self, project_key: str) -> bool:
        """Whether anything of the project is stored (deleted issues included): one key read."""
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-")
        for _ in JiraIssueItem.query(
            self.team_id, range_key_condition=condition, limit=1, attributes_to_get=["issue_key"]
        ):
            return True
        return False

    def count_issues(self, project_key: str) -> int:
        """Stored issues of the project that Jira still has (deleted ones are kept but not counted)."""
        return JiraIssueItem.count(
            self.team_id,
            range_key_condition=JiraIssueItem.issue_key.startswith(f"{project_key}-"),
            filter_condition=JiraIssueItem.deleted == False,  # noqa: E712 - a DynamoDB condition
        )

    def save_boards(self, boards: Iterable[tuple[JiraBoard, str | None]]) -> None:
        with JiraBoardItem.batch_write() as batch:
            for board, estimation_field in boards:
                batch.save(
                    JiraBoardItem(
                        self.team_id,
                        board.id,
                        name=board.name,
                        board_type=board.type,
                        project_key=board.project_key,
                        estimation_field=estimation_field,
                    )
                )

    def save_sprints(self, project_key: str, sprints: Iterable[JiraSprint]) -> None:
        with JiraSprintItem.batch_write() as batch:
            for sprint in sprints:
                batch.save(
                    JiraSprintItem(
                        self.team_id,
                        sprint.id,
                        board_id=sprint.board_id,
                        project_key=project_key,
                        name=sprint.name,
                        state=sprint.state,
                        goal=sprint.goal,
                        start_date=sprint.start_date,
                        end_date=sprint.end_date,
                        complete_date=sprint.complete_date,
                    )
                )

    # ---- metrics reads: every one a Query on the team's key (or an index), never a Scan --------
    def iter_issue_models(self, project_key: str) -> Iterator[JiraIssue]:
        """The stored issues of one project as `JiraIssue`s (deleted ones left out)."""
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-")
        for item in JiraIssueItem.query(self.team_id, range_key_condition=condition):
            if item.deleted:
                continue
            yield JiraIssue(
                id=item.issue_id,
                key=item.issue_key,
                project_key=item.project_key,
                summary=item.summary,
                status_name=item.status_name,
                status_category=item.status_category,
                issue_type=item.issue_type,
                is_subtask=bool(item.is_subtask),
                priority=item.priority,
                assignee_account_id=item.assignee_account_id,
                reporter_account_id=item.reporter_account_id,
                created=item.created,
                updated=item.updated,
                resolved=item.resolved,
                labels=tuple(item.labels or ()),
                parent_key=item.parent_key,
                sprint_ids=tuple(int(s) for s in cast(list[float], item.sprint_ids or [])),
                story_points=item.story_points,
                sprint_changes=tuple(FieldChange.model_validate(c) for c in item.sprint_changes or ()),
                status_changes=tuple(FieldChange.model_validate(c) for c in item.status_changes or ()),
            )

    def iter_metric_issues(
        self, project_key: str, builder: MetricIssueBuilder | None = None
    ) -> Iterator[MetricIssue]:
        """The stored issues of one project as the metrics read them (deleted ones left out): only
        the attributes the metrics need are read, and no `JiraIssue` is built (a tenth of the memory)."""
        builder = builder or MetricIssueBuilder()
        for item in JiraIssueItem.query(
            self.team_id,
            range_key_condition=JiraIssueItem.issue_key.startswith(f"{project_key}-"),
            attributes_to_get=list(STORED_ATTRIBUTES),
        ):
            if item.deleted:
                continue
            yield builder.from_stored(
                issue_key=item.issue_key,
                project_key=item.project_key,
                status_name=item.status_name,
                status_category=item.status_category,
                issue_type=item.issue_type,
                is_subtask=item.is_subtask,
                story_points=item.story_points,
                sprint_ids=cast(list[float], item.sprint_ids or []),
                created=item.created,
                resolved=item.resolved,
                sprint_changes=item.sprint_changes,
                status_changes=item.status_changes,
            )

    def list_metric_issues(self) -> list[MetricIssue]:
        """The issues of every tracked project, as the metrics read them, sharing repeated values."""
        builder = MetricIssueBuilder()
        return [
            issue
            for project in self.list_projects()
            for issue in self.iter_metric_issues(project.project_key, builder)
        ]

    def list_boards(self) -> list[tuple[JiraBoard, str | None]]:
        """Every stored board with its estimation field."""
        return [
            (
                JiraBoard(id=int(i.board_id), name=i.name, type=i.board_type, project_key=i.project_key),
                i.estimation_field,
            )
            for i in JiraBoardItem.query(self.team_id)
        ]

    def list_sprints(self, board_id: int | None = None) -> list[JiraSprint]:
        """Every stored sprint of the team (or of one board), in sprint id order."""
        condition = JiraSprintItem.board_id == board_id if board_id is not None else None
        return [
            JiraSprint(
                id=int(i.sprint_id),
                name=i.name,
                state=i.state,
                originBoardId=int(i.board_id) if i.board_id is not None else None,
                goal=i.goal,
                startDate=i.start_date,
                endDate=i.end_date,
                completeDate=i.complete_date,
            )
            for i in JiraSprintItem.query(self.team_id, filter_condition=condition)
        ]

    def save_pull_requests(self, pull_requests: Iterable[PullRequest]) -> int:
        """Upsert pull requests by `<repository>#<number>` (the GitHub integration's writes)."""
        count = 0
        with PullRequestItem.batch_write() as batch:
            for pr in pull_requests:
                batch.save(
                    PullRequestItem(
                        self.team_id,
                        pr.pr_id,
                        repository=pr.repository,
                        number=pr.number,
                        title=pr.title,
                        branch=pr.branch,
                        body=pr.body,
                        author_login=pr.author_login,
                        created_at=pr.created_at.isoformat(),
                        merged_at=pr.merged_at.isoformat() if pr.merged_at else None,
                    )
                )
                count += 1
        return count

    def iter_merged_pull_requests(self, since: datetime, until: datetime) -> Iterator[PullRequest]:
        """Pull requests merged in [since, until), through the ByMergedAt index."""
        condition = PullRequestItem.merged_at.between(since.isoformat(), until.isoformat())
        for item in PullRequestItem.by_merged_at.query(self.team_id, range_key_condition=condition):
            if item.merged_at and item.merged_at >= until.isoformat():
                continue  # BETWEEN is inclusive at both ends; the window is half-open
            yield PullRequest.model_validate({**_as_dict(item), "team_id": self.team_id})

    def save_metrics_snapshot(self, snapshot: MetricsSnapshot) -> None:
        MetricsSnapshotItem(
            self.team_id,
            snapshot.snapshot_id,
            run_id=snapshot.run_id,
            computed_at=snapshot.computed_at,
            sprint_metrics=snapshot.sprint_metrics,
            linkage=snapshot.linkage,
        ).save()

    def latest_metrics_snapshot(self) -> MetricsSnapshot | None:
        # snapshot ids are time-ordered, so the last one in key order is the newest
        for item in MetricsSnapshotItem.query(self.team_id, scan_index_forward=False, limit=1):
            return MetricsSnapshot.model_validate(_as_dict(item))
        return None

    def save_insights(self, snapshot_id: str, insights: Iterable[StoredInsight]) -> int:
        count = 0
        with InsightItem.batch_write() as batch:
            for insight in insights:
                batch.save(
                    InsightItem(
                        self.team_id,
                        f"{snapshot_id}#{insight.rank:03d}",
                        snapshot_id=snapshot_id,
                        **insight.model_dump(exclude={"snapshot_id", "team_id", "created_at"}),
                    )
                )
                count += 1
        return count

    def list_insights(self, snapshot_id: str) -> list[StoredInsight]:
        """The insights written for one snapshot, best first."""
        condition = InsightItem.insight_id.startswith(f"{snapshot_id}#")
        return [
            StoredInsight.model_validate(_as_dict(i))
            for i in InsightItem.query(self.team_id, range_key_condition=condition)
        ]

    # ---- dumps -----------------------------------------------------------------------------
    def dump(self) -> Iterator[dict[str, Any]]:
        """Every stored item of this team, tagged with its table, for `--dump`."""
        for name, model in (
            ("connection", JiraConnectionItem),
            ("run", OnboardingRunItem),
            ("tracked_project", TrackedProjectItem),
            ("team_member", TeamMemberItem),
            ("jira_user", JiraUserItem),
            ("jira_board", JiraBoardItem),
            ("jira_sprint", JiraSprintItem),
            ("jira_issue", JiraIssueItem),
            ("pull_request", PullRequestItem),
            ("metrics_snapshot", MetricsSnapshotItem),
            ("insight", InsightItem),
        ):
            for item in model.query(self.team_id):
                yield {"table": name, **_as_dict(item)}


def connections_page(cursor: dict[str, Any] | None, limit: int) -> tuple[list[str], dict[str, Any] | None]:
    """One page of the teams with a Jira connection, for the one-off migration only (a paged Scan
    that resumes from `cursor`): (team ids, the next cursor or None at the end)."""
    bind_tables()
    result = JiraConnectionItem.scan(limit=limit, last_evaluated_key=cursor, attributes_to_get=["team_id"])
    teams = [item.team_id for item in result]
    return teams, result.last_evaluated_key


def issue_content_hash(issue: JiraIssue) -> str:
    return hashlib.sha256(issue.model_dump_json().encode()).hexdigest()[:32]


def to_iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


__all__ = ["PutError", "Repository", "to_iso"]
