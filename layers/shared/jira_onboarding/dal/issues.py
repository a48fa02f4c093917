"""A team's stored Jira issues: upserts by key, deletion flags, and the reads the metrics make."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from jira_onboarding.dal.issue_items import issue_from_values, issue_values
from jira_onboarding.dal.items import as_dict, require_team
from jira_onboarding.dal.tables import JiraIssueItem, bind_tables, put_items, serialize_values, utcnow
from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.sprint_metrics.issues import STORED_ATTRIBUTES, MetricIssue, MetricIssueBuilder

ISSUE_WRITE_THREADS = 4


def issue_item_values(
    team_id: str, issue: JiraIssue, *, content_hash: str, run_id: str | None, now: datetime
) -> dict[str, Any]:
    """A stored issue item's attributes (the sync's batches and the live updates' writes): the
    model's fields (dal/issue_items.py) and the store's bookkeeping."""
    return {
        "team_id": team_id,
        **issue_values(issue),
        "deleted": False,
        "content_hash": content_hash,
        "run_id": run_id,
        "synced_at": now,
    }


def issue_content_hash(issue: JiraIssue) -> str:
    return hashlib.sha256(issue.model_dump_json().encode()).hexdigest()[:32]


class IssueStore:
    """One team's issues, keyed by issue key (a project's issues share the `<KEY>-` prefix)."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def save(self, issues: Iterable[JiraIssue], *, run_id: str | None, fresh: bool = False) -> int:
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
                issue_item_values(
                    self.team_id, issue, content_hash=hashes[issue.key], run_id=run_id, now=now
                ),
            )
            for issue in issues
            if stored.get(issue.key) != hashes[issue.key]
        ]
        # A batch of 1,000 issues is 40 requests of 25: four at a time, not one after another.
        put_items(items, threads=ISSUE_WRITE_THREADS)
        return len(items)

    def live_keys(self, project_key: str) -> set[str]:
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

    def mark_deleted(self, keys: Iterable[str]) -> int:
        """Issues Jira no longer returns (deleted, moved or hidden): kept, flagged, never counted."""
        count = 0
        for key in keys:
            JiraIssueItem(self.team_id, key).update(
                actions=[JiraIssueItem.deleted.set(True), JiraIssueItem.synced_at.set(utcnow())],
                condition=JiraIssueItem.issue_key.exists(),
            )
            count += 1
        return count

    def iter_items(self, project_key: str | None = None) -> Iterator[dict[str, Any]]:
        """The stored items as they are (deleted ones included), for checks and dumps."""
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-") if project_key else None
        for item in JiraIssueItem.query(self.team_id, range_key_condition=condition):
            yield as_dict(item)

    def has_any(self, project_key: str) -> bool:
        """Whether anything of the project is stored (deleted issues included): one key read."""
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-")
        for _ in JiraIssueItem.query(
            self.team_id, range_key_condition=condition, limit=1, attributes_to_get=["issue_key"]
        ):
            return True
        return False

    def count(self, project_key: str) -> int:
        """Stored issues of the project that Jira still has (deleted ones are kept but not counted)."""
        return JiraIssueItem.count(
            self.team_id,
            range_key_condition=JiraIssueItem.issue_key.startswith(f"{project_key}-"),
            filter_condition=JiraIssueItem.deleted == False,  # noqa: E712 - a DynamoDB condition
        )

    # ---- the metrics' reads: every one a Query on the team's key, never a Scan ------------
    def iter_models(self, project_key: str) -> Iterator[JiraIssue]:
        """The stored issues of one project as `JiraIssue`s (deleted ones left out)."""
        condition = JiraIssueItem.issue_key.startswith(f"{project_key}-")
        for item in JiraIssueItem.query(self.team_id, range_key_condition=condition):
            if item.deleted:
                continue
            yield issue_from_values(item.attribute_values)

    def issue_people(self, keys: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """(assignee, reporter) account ids of the stored, not deleted, issues among `keys`
        (unknown keys are left out): one BatchGet per 100 keys, three attributes each."""
        wanted = sorted(set(keys))
        out: dict[str, tuple[str | None, str | None]] = {}
        if not wanted:
            return out
        for item in JiraIssueItem.batch_get(
            [(self.team_id, key) for key in wanted],
            attributes_to_get=["issue_key", "assignee_account_id", "reporter_account_id", "deleted"],
        ):
            if not item.deleted:
                out[item.issue_key] = (item.assignee_account_id, item.reporter_account_id)
        return out

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
                structure=item.structure,
            )

    def list_metric_issues(self, project_keys: Iterable[str]) -> list[MetricIssue]:
        """The issues of these projects, as the metrics read them, sharing repeated values."""
        builder = MetricIssueBuilder()
        return [issue for key in project_keys for issue in self.iter_metric_issues(key, builder)]
