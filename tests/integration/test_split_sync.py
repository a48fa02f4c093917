"""A big project syncs recent first, then its older issues in parallel creation-date ranges: every
issue is fetched exactly once, the recent pass of every project ends before any backfill starts,
metrics are computed after each phase, and the status shows the phase.

The split thresholds are lowered so the demo workspace's ALPHA (120 issues) counts as big."""

from __future__ import annotations

import itertools
import json
import math
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.run import plan as plan_sync

from jira_simulator import JiraSimulator, Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM, select_and_wait

BIG, SMALL = "ALPHA", "OPS"


class SearchLog:
    """Every issue search the simulator answers: its JQL, page token and the keys it returned."""

    def __init__(self, simulator: JiraSimulator) -> None:
        self.pages: list[tuple[str, str | None, list[str]]] = []
        self.counts: list[str] = []  # approximate-count JQLs
        self._lock = threading.Lock()
        original = simulator.handle

        def handle(method: str, path_with_query: str, headers: Any = None, body: bytes | None = None) -> Any:
            answer = original(method, path_with_query, headers, body)
            if path_with_query.startswith("/rest/api/3/search/approximate-count") and body:
                with self._lock:
                    self.counts.append(json.loads(body)["jql"])
            if path_with_query.startswith("/rest/api/3/search/jql") and answer[0] == 200 and body:
                request, response = json.loads(body), json.loads(answer[2])
                if request.get("fields") != ["id"] and request.get("maxResults") != 1:
                    keys = [i["key"] for i in response.get("issues", [])]
                    with self._lock:
                        self.pages.append((request["jql"], request.get("nextPageToken"), keys))
            return answer

        simulator.handle = handle  # type: ignore[method-assign]

    def of(self, project: str) -> list[tuple[str, str | None, list[str]]]:
        return [p for p in self.pages if p[0].startswith(f'project = "{project}"')]


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch, workspace: Workspace) -> None:
    """ALPHA is "big": split above 50 issues, 40 per backfill range, and a recent window that
    puts about half of ALPHA's issues on each side of the boundary."""
    monkeypatch.setattr(plan_sync, "SPLIT_ABOVE", 50)
    monkeypatch.setattr(plan_sync, "BACKFILL_RANGE_ISSUES", 40)
    updated = sorted(
        datetime.fromisoformat(i["fields"]["updated"].replace("Z", "+00:00"))
        for i in workspace.issues_by_project[BIG]
    )
    median = updated[len(updated) // 2]
    monkeypatch.setattr(
        plan_sync, "RECENT_DAYS", math.ceil((datetime.now(UTC) - median).total_seconds() / 86400)
    )


def test_big_project_syncs_recent_first_then_backfills_in_parallel_ranges(
    stack: LocalStack, connected_team: str, workspace: Workspace, simulator: JiraSimulator, split_small: None
) -> None:
    log = SearchLog(simulator)
    phases_seen: list[dict[str, Any]] = []

    def status_when_metrics_run(handler: Any, event: dict, context: Any) -> Any:
        # Compute Metrics runs at the end of each phase: record what the status says then.
        run_id = event["run_id"]
        code, _, status = stack.http("GET", f"/jira/onboarding/{run_id}", team_id=TEAM)
        assert code == 200
        phases_seen.append({p["project_key"]: (p["status"], p.get("phase")) for p in status["projects"]})
        return handler(event, context)

    stack.dispatch_hooks["ComputeMetricsFunction"] = status_when_metrics_run

    run = select_and_wait(stack, [BIG, SMALL])

    by_key = {p["project_key"]: p for p in run["projects"]}
    for key in (BIG, SMALL):
        assert by_key[key]["status"] == "COMPLETE", by_key[key]
        assert by_key[key]["issues_stored"] == workspace.issue_count(key)
        assert TeamStores(TEAM).issues.count(key) == workspace.issue_count(key)

    # ALPHA was planned as a recent segment plus 4 creation-date ranges: ceil(120 / 40) = 3,
    # rounded up to a multiple of the segments synced at once.
    project = TeamStores(TEAM).projects.get(BIG)
    assert project is not None
    assert sorted(project.segments) == ["backfill-01", "backfill-02", "backfill-03", "backfill-04", "recent"]
    assert all(s.done for s in project.segments.values())
    assert sorted(TeamStores(TEAM).projects.get(SMALL).segments) == ["all"]  # type: ignore[union-attr]

    # Every issue fetched exactly once across the segments: disjoint and complete.
    pages = log.of(BIG)
    fetched = [key for _, _, keys in pages for key in keys]
    assert sorted(fetched) == sorted(i["key"] for i in workspace.issues_by_project[BIG])
    assert len(fetched) == len(set(fetched))
    recent = [p for p in pages if "updated >=" in p[0]]
    backfill = [p for p in pages if "updated <" in p[0]]
    assert recent and backfill and len(recent) + len(backfill) == len(pages)
    assert any(keys for _, _, keys in recent)
    assert len({jql for jql, _, _ in backfill}) == 4  # four ranges
    # No page fetched twice.
    assert len({(jql, token) for jql, token, _ in pages}) == len(pages)

    # Phases in order: every first-phase page (ALPHA's recent, OPS whole) before any backfill page.
    order = log.pages
    last_first_phase = max(n for n, p in enumerate(order) if "updated <" not in p[0])
    first_backfill = min(n for n, p in enumerate(order) if "updated <" in p[0])
    assert last_first_phase < first_backfill

    # Sizing: one count per project; at the end one count for the whole run (nothing was deleted).
    assert sorted(log.counts) == sorted(
        [f'project = "{BIG}"', f'project = "{SMALL}"', f'project in ("{BIG}", "{SMALL}")']
    )

    # Metrics after each phase; after the first, ALPHA reads as backfilling and OPS complete.
    assert len(phases_seen) == 2
    assert phases_seen[0][BIG] == ("SYNCING", "backfill")
    assert phases_seen[0][SMALL] == ("COMPLETE", None)
    assert phases_seen[1][BIG] == ("COMPLETE", None)


def test_creation_ranges_are_contiguous_and_open_at_both_ends() -> None:
    first = datetime(2024, 1, 1, tzinfo=UTC)
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    for n in (1, 2, 3, 7, 20):
        ranges = plan_sync.creation_ranges(first, now, n)
        assert len(ranges) == n
        assert ranges[0][0] is None and ranges[-1][1] is None
        for (_, high), (low, _) in itertools.pairwise(ranges):
            assert high == low  # each range starts where the previous one stops: no gap, no overlap
        bounds = [low for low, _ in ranges[1:]]
        assert bounds == sorted(bounds)
    # A project created this minute cannot be split: one range with no bounds.
    assert plan_sync.creation_ranges(now, now, 5) == [(None, None)]
