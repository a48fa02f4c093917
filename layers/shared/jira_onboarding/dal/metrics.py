"""A team's stored Jira metrics: the snapshots, the insights written from them, and the pull
requests the PR linkage reads (written by the GitHub integration)."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from jira_onboarding.dal.items import as_dict, require_team
from jira_onboarding.dal.tables import InsightItem, MetricsSnapshotItem, PullRequestItem, bind_tables
from jira_onboarding.records import MetricsSnapshot, PullRequest, StoredInsight

SNAPSHOT_PART_BYTES = 256 * 1024  # an item well under DynamoDB's 400 KB, whatever the team's size
SUPERSEDED_KEPT_S = 7 * 24 * 3600  # a superseded snapshot is kept a week for readers, then expires


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

    def iter_merged_pr_texts(
        self, since: datetime, until: datetime
    ) -> Iterator[tuple[str, str | None, tuple[str | None, ...]]]:
        """(pr_id, author_login, (title, branch, body)) of the PRs merged in [since, until): what
        matching by evidence reads, and nothing else (a projection)."""
        condition = PullRequestItem.merged_at.between(since.isoformat(), until.isoformat())
        for item in PullRequestItem.by_merged_at.query(
            self.team_id,
            range_key_condition=condition,
            attributes_to_get=["pr_id", "author_login", "title", "branch", "body", "merged_at"],
        ):
            if item.merged_at and item.merged_at >= until.isoformat():
                continue  # BETWEEN is inclusive at both ends; the window is half-open
            yield item.pr_id, item.author_login, (item.title, item.branch, item.body)

    def save_snapshot(self, snapshot: MetricsSnapshot) -> None:
        """Store a snapshot as zlib-compressed JSON in parts of at most SNAPSHOT_PART_BYTES, then its
        header: a reader sees a snapshot only once every part is there. Its issue keys made one
        item pass DynamoDB's 400 KB at ~7 boards of 150-issue sprints. The snapshot it supersedes
        (and its insights) expire SUPERSEDED_KEPT_S later (the table's TTL)."""
        previous = self._latest_header()
        document = {
            "sprint_metrics": snapshot.sprint_metrics,
            "linkage": snapshot.linkage,
            "releases": snapshot.releases,
        }
        body = zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)
        parts = [body[i : i + SNAPSHOT_PART_BYTES] for i in range(0, len(body), SNAPSHOT_PART_BYTES)]
        with MetricsSnapshotItem.batch_write() as batch:
            for number, part in enumerate(parts):
                batch.save(
                    MetricsSnapshotItem(self.team_id, f"{snapshot.snapshot_id}#{number:04d}", body=part)
                )
        MetricsSnapshotItem(
            self.team_id,
            snapshot.snapshot_id,
            run_id=snapshot.run_id,
            computed_at=snapshot.computed_at,
            parts=len(parts),
        ).save()
        if previous is not None and previous.snapshot_id != snapshot.snapshot_id:
            self._expire(previous, int(time.time() + SUPERSEDED_KEPT_S))

    def _latest_header(self) -> MetricsSnapshotItem | None:
        # newest first: the parts of a snapshot sort after its header, and a header is written last
        for item in MetricsSnapshotItem.query(self.team_id, scan_index_forward=False, page_size=16):
            if "#" not in item.snapshot_id:
                return item
        return None

    def _expire(self, header: MetricsSnapshotItem, at: int) -> None:
        keys = [header.snapshot_id] + [f"{header.snapshot_id}#{n:04d}" for n in range(int(header.parts or 0))]
        for key in keys:
            MetricsSnapshotItem(self.team_id, key).update(actions=[MetricsSnapshotItem.expires_at.set(at)])
        condition = InsightItem.insight_id.startswith(f"{header.snapshot_id}#")
        for insight in InsightItem.query(
            self.team_id, range_key_condition=condition, attributes_to_get=["insight_id"]
        ):
            InsightItem(self.team_id, insight.insight_id).update(actions=[InsightItem.expires_at.set(at)])

    def latest_snapshot_time(self) -> tuple[str, datetime] | None:
        """(id, computed_at) of the latest snapshot, without reading its parts."""
        header = self._latest_header()
        return (header.snapshot_id, header.computed_at) if header is not None else None

    def latest_snapshot(self) -> MetricsSnapshot | None:
        header = self._latest_header()
        if header is None:
            return None
        if header.parts is None:  # stored before the parts: the figures are in the header
            return MetricsSnapshot.model_validate(as_dict(header))
        condition = MetricsSnapshotItem.snapshot_id.startswith(f"{header.snapshot_id}#")
        parts = sorted(
            MetricsSnapshotItem.query(self.team_id, range_key_condition=condition),
            key=lambda item: item.snapshot_id,
        )
        document = json.loads(zlib.decompress(b"".join(bytes(p.body or b"") for p in parts)))
        return MetricsSnapshot(
            team_id=self.team_id,
            snapshot_id=header.snapshot_id,
            run_id=header.run_id,
            computed_at=header.computed_at,
            sprint_metrics=document["sprint_metrics"],
            linkage=document["linkage"],
            releases=document.get("releases"),
        )

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
