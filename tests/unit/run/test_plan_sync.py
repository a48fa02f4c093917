"""Planning a run: the JQL of each segment, the creation-date ranges of a backfill, the segments of a
project of each size. Pure functions of their inputs (a fake client answers the one search)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jira_onboarding.errors import JiraBadRequestError
from jira_onboarding.jira.models import SearchPage
from jira_onboarding.logic.run.plan import (
    BACKFILL_RANGE_ISSUES,
    PROBE_PAGE,
    SEGMENT_CONCURRENCY,
    SPLIT_ABOVE,
    changed_projects,
    creation_ranges,
    full_segments,
    incremental_jql,
    project_jql,
    sweep_due,
)
from jira_onboarding.records import TrackedProject

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ((), 'project = "ALPHA" ORDER BY key ASC'),
        (('updated >= "-75m"',), 'project = "ALPHA" AND updated >= "-75m" ORDER BY key ASC'),
        (("a", "b"), 'project = "ALPHA" AND a AND b ORDER BY key ASC'),
    ],
)
def test_project_jql_joins_conditions_in_key_order(conditions: tuple[str, ...], expected: str) -> None:
    assert project_jql("ALPHA", *conditions) == expected


@pytest.mark.parametrize(
    ("since_last", "period"),
    [
        (timedelta(minutes=60), "-75m"),  # the time since, plus the 15-minute overlap
        (timedelta(seconds=30), "-16m"),  # a part minute counts whole
        (timedelta(minutes=59, seconds=1), "-75m"),
        (timedelta(days=1), "-1455m"),
        (timedelta(0), "-15m"),
    ],
)
def test_incremental_jql_asks_for_a_relative_period_with_an_overlap(
    since_last: timedelta, period: str
) -> None:
    assert (
        incremental_jql("ALPHA", NOW - since_last, NOW)
        == f'project = "ALPHA" AND updated >= "{period}" ORDER BY key ASC'
    )


@pytest.mark.parametrize(
    ("first_created", "ranges", "expected"),
    [
        (NOW - timedelta(days=4), 1, [(None, None)]),
        (NOW, 4, [(None, None)]),  # nothing older than now
        (NOW + timedelta(days=1), 4, [(None, None)]),  # a clock ahead of Jira's
        (NOW - timedelta(days=4), 2, [(None, "2026/11/29 21:00"), ("2026/11/29 21:00", None)]),
        (
            NOW - timedelta(days=3),
            3,
            [
                (None, "2026/11/29 21:00"),
                ("2026/11/29 21:00", "2026/11/30 21:00"),
                ("2026/11/30 21:00", None),
            ],
        ),
        # A project one minute old: the bounds collapse at minute precision, and no range is empty
        (NOW - timedelta(minutes=1), 4, [(None, "2026/12/01 20:59"), ("2026/12/01 20:59", None)]),
    ],
)
def test_creation_ranges_cover_every_issue_once(
    first_created: datetime, ranges: int, expected: list[tuple[str | None, str | None]]
) -> None:
    assert creation_ranges(first_created, NOW, ranges) == expected


def _bound(pattern: str, jql: str) -> str | None:
    match = re.search(pattern, jql)
    return match.group(1) if match else None


class _FirstIssueClient:
    """Answers the planner's one search (the project's oldest issue)."""

    def __init__(self, created: str | None) -> None:
        self.created = created
        self.searches: list[dict[str, Any]] = []

    def search_page(self, jql: str, **kwargs: Any) -> Any:
        self.searches.append({"jql": jql, **kwargs})
        issues = [] if self.created is None else [{"key": "ALPHA-1", "fields": {"created": self.created}}]
        return type("Page", (), {"issues": issues})()


def test_full_segments_of_a_small_project_is_one_segment_without_a_search() -> None:
    client = _FirstIssueClient("2020-01-01T00:00:00.000+0000")

    segments = full_segments(client, "ALPHA", SPLIT_ABOVE, NOW)  # type: ignore[arg-type]

    assert {name: (s.phase, s.jql) for name, s in segments.items()} == {
        "all": ("recent", 'project = "ALPHA" ORDER BY key ASC')
    }
    assert client.searches == []


@pytest.mark.parametrize(
    ("total", "backfill_ranges"),
    [
        (SPLIT_ABOVE + 1, SEGMENT_CONCURRENCY),
        (SEGMENT_CONCURRENCY * BACKFILL_RANGE_ISSUES, SEGMENT_CONCURRENCY),
        (SEGMENT_CONCURRENCY * BACKFILL_RANGE_ISSUES + 1, 2 * SEGMENT_CONCURRENCY),
    ],
)
def test_full_segments_of_a_big_project_are_recent_then_backfill_ranges_in_multiples_of_the_slots(
    total: int, backfill_ranges: int
) -> None:
    client = _FirstIssueClient("2020-01-01T00:00:00.000+0000")

    segments = full_segments(client, "ALPHA", total, NOW)  # type: ignore[arg-type]

    boundary = '"2026/11/01 21:00"'  # 30 days before the run
    assert segments["recent"].jql == f'project = "ALPHA" AND updated >= {boundary} ORDER BY key ASC'
    backfill = [s for name, s in segments.items() if name.startswith("backfill-")]
    assert len(backfill) == backfill_ranges
    assert all(s.phase == "backfill" and f"updated < {boundary}" in s.jql for s in backfill)
    # The first range is open below, the last open above, each range starts where the previous ends
    lows = [_bound(r'created >= "([^"]+)"', s.jql) for s in backfill]
    highs = [_bound(r'created < "([^"]+)"', s.jql) for s in backfill]
    assert lows[0] is None and highs[-1] is None and lows[1:] == highs[:-1]
    assert client.searches[0]["fields"] == ["created"] and client.searches[0]["max_results"] == 1


def test_full_segments_of_a_big_project_without_a_first_issue_is_one_backfill_range() -> None:
    segments = full_segments(_FirstIssueClient(None), "ALPHA", SPLIT_ABOVE * 3, NOW)  # type: ignore[arg-type]

    assert sorted(segments) == ["backfill-01", "recent"]
    assert "created" not in segments["backfill-01"].jql


class _ProbeClient:
    """Answers the planner's probe: one search page, or Jira refusing the query."""

    def __init__(self, keys: list[str], *, more: bool = False, refuse: bool = False) -> None:
        self.keys, self.more, self.refuse = keys, more, refuse
        self.queries: list[tuple[str, list[str], int]] = []

    def search_page(self, jql: str, *, fields: list[str], max_results: int, what: str) -> SearchPage:
        self.queries.append((jql, fields, max_results))
        if self.refuse:
            raise JiraBadRequestError("The value 'GONE' does not exist for the field 'project'.")
        return SearchPage.from_payload(
            {
                "issues": [{"key": k} for k in self.keys],
                "isLast": not self.more,
                "nextPageToken": "t" if self.more else None,
            }
        )


def _incremental(key: str, synced_ago: timedelta) -> TrackedProject:
    return TrackedProject(team_id="t", project_key=key, last_synced_at=NOW - synced_ago)


def test_changed_projects_asks_once_for_all_with_the_oldest_window_and_names_the_changed_ones() -> None:
    client = _ProbeClient(["BETA-7", "BETA-9"])
    projects = [_incremental("ALPHA", timedelta(hours=1)), _incremental("BETA", timedelta(hours=25))]

    changed = changed_projects(client, projects, NOW)  # type: ignore[arg-type]

    assert changed == {"BETA"}
    # one query, keys only, over both projects, from the older one's last sync (25 h + the overlap)
    assert client.queries == [
        ('project in ("ALPHA", "BETA") AND updated >= "-1515m" ORDER BY key ASC', ["key"], PROBE_PAGE)
    ]


@pytest.mark.parametrize(
    ("client", "projects", "why"),
    [
        (
            _ProbeClient([]),
            [_incremental("ALPHA", timedelta(hours=1))],
            "one project: its own search costs the same",
        ),
        (_ProbeClient(["ALPHA-1"], more=True), None, "more changed issues than a page"),
        (_ProbeClient(["OTHER-1"]), None, "a key of no project asked about"),
        (_ProbeClient([], refuse=True), None, "Jira refuses the query (a project gone)"),
        (
            _ProbeClient([]),
            [_incremental("ALPHA", timedelta(hours=1)), TrackedProject(team_id="t", project_key="NEW")],
            "a project never synced",
        ),
    ],
)
def test_changed_projects_cannot_tell_and_every_project_searches_on_its_own(
    client: _ProbeClient, projects: list[TrackedProject] | None, why: str
) -> None:
    projects = projects or [
        _incremental("ALPHA", timedelta(hours=1)),
        _incremental("BETA", timedelta(hours=2)),
    ]

    assert changed_projects(client, projects, NOW) is None, why  # type: ignore[arg-type]


def test_sweep_due_weekly_and_when_never_swept() -> None:
    project = _incremental("ALPHA", timedelta(hours=1))
    assert sweep_due(project, NOW)
    assert not sweep_due(project.model_copy(update={"last_swept_at": NOW - timedelta(days=6)}), NOW)
    assert sweep_due(project.model_copy(update={"last_swept_at": NOW - timedelta(days=7)}), NOW)
