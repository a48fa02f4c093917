"""Batching a segment's pages into commits: a pure function of the pages (table-driven)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from jira_onboarding.jira.models import FieldChange, FieldMap, JiraIssue, parse_issue
from jira_onboarding.jira.paging import TokenPage
from jira_onboarding.logic.run.batching import (
    MAX_ISSUE_BYTES,
    REDUCED_CHANGES,
    batches,
    bounded_issue,
    estimated_size,
    keep_issues,
)


def _raw(key: str, project: str | None = None) -> dict:
    return {"id": "1", "key": key, "fields": {"project": {"key": project or key.rsplit("-", 1)[0]}}}


def _page(keys: list[str], token: str | None, nxt: str | None, last: bool = False) -> TokenPage[dict]:
    return TokenPage([_raw(k) for k in keys], nxt, last, token)


def _parse(raw: dict) -> JiraIssue:
    return parse_issue(raw, FieldMap())


def _run(pages, max_issues=3, **kwargs):
    return list(batches(pages, parse=_parse, project_key="ALPHA", max_issues=max_issues, **kwargs))


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        # (keys per batch, previous cursor, next cursor, pages, last)
        ([_page(["ALPHA-1"], None, None, True)], [(["ALPHA-1"], None, None, 1, True)]),
        (
            [
                _page(["ALPHA-1", "ALPHA-2"], None, "a"),
                _page(["ALPHA-3"], "a", "b"),
                _page(["ALPHA-4"], "b", None),
            ],
            [(["ALPHA-1", "ALPHA-2", "ALPHA-3"], None, "b", 2, False), (["ALPHA-4"], "b", None, 1, True)],
        ),
        (  # a resumed segment: the first batch starts at the saved cursor
            [_page(["ALPHA-5"], "saved", "c"), _page(["ALPHA-6"], "c", None, True)],
            [(["ALPHA-5", "ALPHA-6"], "saved", None, 2, True)],
        ),
    ],
)
def test_batches_group_pages_up_to_the_batch_size(pages, expected):
    got = [
        ([i.key for i in b.issues], b.previous_cursor, b.next_cursor, b.pages, b.last) for b in _run(pages)
    ]
    assert got == expected


@pytest.mark.parametrize(
    ("keys", "kept", "dropped"),
    [
        (["ALPHA-1", "XYZ-9"], ["ALPHA-1"], {"other_project": 1}),
        (
            ["ALPHA-1", "../../etc", "alpha-2", "ALPHA-0", "ALPHA-", "ALPHA-1x"],
            ["ALPHA-1"],
            {"malformed_key": 5},
        ),
        (["ALPHA-1", "ALPHA-1", "ALPHA-2"], ["ALPHA-1", "ALPHA-2"], {"duplicate": 1}),
        (["ALPHAB-1"], [], {"other_project": 1}),
    ],
)
def test_keep_issues_keeps_only_the_projects_keys_once(keys, kept, dropped):
    counts: Counter[str] = Counter()
    issues = [_parse(_raw(k)) for k in keys]
    got = keep_issues(issues, project_key="ALPHA", seen=set(), dropped=counts)
    assert [i.key for i in got] == kept
    assert dict(counts) == dropped


def test_keep_issues_drops_an_issue_whose_project_field_disagrees_with_its_key():
    counts: Counter[str] = Counter()
    issue = _parse(_raw("ALPHA-1", project="XYZ"))
    assert keep_issues([issue], project_key="ALPHA", seen=set(), dropped=counts) == []
    assert counts == {"other_project": 1}


def test_batches_dedupe_keys_across_pages_and_count_them():
    pages = [_page(["ALPHA-1", "ALPHA-2"], None, "a"), _page(["ALPHA-1", "ALPHA-3"], "a", None, True)]
    (batch,) = _run(pages, max_issues=10)
    assert [i.key for i in batch.issues] == ["ALPHA-1", "ALPHA-2", "ALPHA-3"]
    assert batch.dropped == {"duplicate": 1}


def test_batches_cut_a_batch_at_a_page_boundary_when_time_runs_out():
    pages = [_page(["ALPHA-1"], None, "a"), _page(["ALPHA-2"], "a", "b"), _page(["ALPHA-3"], "b", None, True)]
    got = _run(pages, max_issues=10, cut=lambda: True)
    assert [(b.previous_cursor, b.next_cursor) for b in got] == [(None, "a"), ("a", "b"), ("b", None)]


def test_batches_preview_the_first_page_then_commit_it_with_its_batch():
    pages = [_page(["ALPHA-1"], None, "a"), _page(["ALPHA-2"], "a", None, True)]
    got = _run(pages, max_issues=10, preview=True)
    assert [(b.preview, [i.key for i in b.issues]) for b in got] == [
        (True, ["ALPHA-1"]),
        (False, ["ALPHA-1", "ALPHA-2"]),
    ]


def test_batches_do_not_preview_a_single_page():
    got = _run([_page(["ALPHA-1"], None, None, True)], preview=True)
    assert [b.preview for b in got] == [False]


def _changes(n: int, text: str = "x") -> tuple[FieldChange, ...]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return tuple(FieldChange(at=at, from_value=text, to_value=text) for _ in range(n))


@pytest.mark.parametrize(
    ("changes", "text", "outcome"),
    [
        (10, "x", "kept"),
        (500, "s" * 255, "reduced"),  # 500 changes of 255-character values: over one item
    ],
)
def test_bounded_issue_keeps_reduces_or_skips(changes, text, outcome):
    issue = _parse(_raw("ALPHA-1")).model_copy(
        update={"status_changes": _changes(changes, text), "sprint_changes": _changes(changes, text)}
    )
    counts: Counter[str] = Counter()
    got = bounded_issue(issue, counts)
    assert got is not None
    if outcome == "kept":
        assert got is issue and not counts
    else:
        assert len(got.status_changes) == REDUCED_CHANGES and counts == {"reduced": 1}
        assert estimated_size(got) <= MAX_ISSUE_BYTES


def test_bounded_issue_skips_what_cannot_be_reduced_into_one_item():
    huge = _parse(_raw("ALPHA-1")).model_copy(update={"summary": "x" * MAX_ISSUE_BYTES})
    counts: Counter[str] = Counter()
    assert bounded_issue(huge, counts) is None
    assert counts == {"oversized": 1}
