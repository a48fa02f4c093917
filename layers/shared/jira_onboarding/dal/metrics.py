"""A team's stored Jira metrics: the snapshots, the insights written from them, and the pull
requests the PR linkage reads (written by the GitHub integration)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from jira_onboarding.dal.items import as_dict, require_team
from jira_onboarding.dal.tables import InsightItem, MetricsSnapshotItem, PullRequestItem, bind_tables
from jira_onboarding.records import MetricsSnapshot, PullRequest, StoredInsight


class MetricsStore:
    """One team's metrics snapshots, insights and pull requests."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

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
            yield PullRequest.model_validate({**as_dict(item), "team_id": self.team_id})

    def save_snapshot(self, snapshot: MetricsSnapshot) -> None:
        MetricsSnapshotItem(
            self.team_id,
            snapshot.snapshot_id,
            run_id=snapshot.run_id,
            computed_at=snapshot.computed_at,
            sprint_metrics=snapshot.sprint_metrics,
            linkage=snapshot.linkage,
        ).save()

    def latest_snapshot(self) -> MetricsSnapshot | None:
        # snapshot ids are time-ordered, so the last one in key order is the newest
        for item in MetricsSnapshotItem.query(self.team_id, scan_index_forward=False, limit=1):
            return MetricsSnapshot.model_validate(as_dict(item))
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
            StoredInsight.model_validate(as_dict(i))
            for i in InsightItem.query(self.team_id, range_key_condition=condition)
        ]
