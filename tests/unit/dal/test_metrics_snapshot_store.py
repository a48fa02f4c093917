"""Metrics snapshots of any size: stored in parts well under DynamoDB's 400 KB item limit, read
back equal, and the superseded ones expire (TTL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from jira_onboarding.dal.metrics import MetricsStore
from jira_onboarding.records import MetricsSnapshot, StoredInsight
from jira_onboarding.sprint_metrics.sprints import (
    BoardSprintMetrics,
    Count,
    CycleTime,
    SprintMetrics,
    SprintMetricsReport,
    VelocityPoint,
    VelocityTrend,
)

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
DYNAMODB_ITEM_LIMIT = 400 * 1024


def _count(keys: list[str]) -> Count:
    return Count(issues=len(keys), points=len(keys) * 2.0, keys=keys)


def _board(board_id: int, sprints: int = 7, issues: int = 150) -> BoardSprintMetrics:
    project = f"P{board_id:03d}"
    metrics = []
    for number in range(sprints):
        keys = [f"{project}-{number * issues + i + 1}" for i in range(issues)]
        metrics.append(
            SprintMetrics(
                sprint_id=board_id * 100 + number,
                name=f"{project} Sprint {number + 1}",
                state="closed" if number < sprints - 1 else "active",
                start=NOW - timedelta(days=14 * (sprints - number)),
                end=NOW - timedelta(days=14 * (sprints - number - 1)),
                committed=_count(keys),
                added=_count(keys[:20]),
                removed=_count(keys[20:30]),
                scope_at_end=_count(keys),
                completed=_count(keys[: issues - 12]),
                carried_over=_count(keys[issues - 12 :]) if number < sprints - 1 else None,
            )
        )
    return BoardSprintMetrics(
        board_id=board_id,
        board_name=f"{project} board",
        project_key=project,
        sprints=metrics,
        velocity=[
            VelocityPoint(sprint_id=m.sprint_id, name=m.name, points=276.0, issues=138) for m in metrics
        ],
        velocity_trend=VelocityTrend(direction="flat", sprints=sprints),
        cycle_time=CycleTime(median_days=3.5, issues=900),
    )


def _snapshot(team_id: str, at: datetime, boards: int) -> MetricsSnapshot:
    report = SprintMetricsReport(
        computed_at=at, closed_sprints_per_board=6, boards=[_board(b) for b in range(boards)]
    )
    return MetricsSnapshot(
        team_id=team_id,
        snapshot_id=f"snap-{at:%Y%m%dT%H%M%S%f}",
        run_id="run-1",
        computed_at=at,
        sprint_metrics=report.model_dump(mode="json"),
        linkage={"merged_prs": 3, "linkage_rate": 0.5},
    )


def _attribute_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return len(str(inner).encode())
    if kind == "B":
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_attribute_size(v) + 1 for v in inner)
    return 1


def _stored_items(team_id: str) -> list[dict[str, Any]]:
    from jira_onboarding.settings import get_settings

    client = boto3.client("dynamodb", region_name="us-east-1")
    pages = client.get_paginator("query").paginate(
        TableName=get_settings().tables.metrics_snapshots,
        KeyConditionExpression="team_id = :t",
        ExpressionAttributeValues={":t": {"S": team_id}},
    )
    return [item for page in pages for item in page["Items"]]


def test_save_snapshot_of_100_boards_of_150_issue_sprints_keeps_every_item_small_and_reads_back_equal(
    team_id: str,
) -> None:
    snapshot = _snapshot(team_id, NOW, boards=100)
    store = MetricsStore(team_id)

    store.save_snapshot(snapshot)

    items = _stored_items(team_id)
    sizes = [sum(len(name.encode()) + _attribute_size(v) for name, v in item.items()) for item in items]
    assert len(items) >= 2  # a header and at least one part
    assert max(sizes) < DYNAMODB_ITEM_LIMIT * 0.7
    assert store.latest_snapshot() == snapshot


def test_save_snapshot_expires_the_one_it_supersedes_and_its_insights(team_id: str) -> None:
    store = MetricsStore(team_id)
    first, second = _snapshot(team_id, NOW, boards=2), _snapshot(team_id, NOW + timedelta(hours=1), boards=3)
    store.save_snapshot(first)
    store.save_insights(first.snapshot_id, [StoredInsight(rank=1, title="Velocity is flat")])

    store.save_snapshot(second)

    items = {item["snapshot_id"]["S"]: item for item in _stored_items(team_id)}
    assert all("expires_at" in item for key, item in items.items() if key.startswith(first.snapshot_id))
    assert all("expires_at" not in item for key, item in items.items() if key.startswith(second.snapshot_id))
    assert store.latest_snapshot() == second
    from jira_onboarding.dal.tables import InsightItem

    assert [i.expires_at is not None for i in InsightItem.query(team_id)] == [True]
