"""The paging generators' guards: each cursor kind ends by itself whatever Jira sends."""

from __future__ import annotations

from typing import Any

import pytest
from jira_onboarding.errors import JiraMalformedResponseError, JiraPagingError
from jira_onboarding.jira.paging import (
    PagingGuard,
    PagingLimits,
    TokenPage,
    iter_array_pages,
    iter_offset_pages,
    iter_token_pages,
)

SMALL = PagingLimits(max_pages=20, max_items=1000, max_seconds=60)


def _tokens(answers: dict[str | None, tuple[list[int], str | None, bool]]):
    def fetch(token: str | None) -> TokenPage[int]:
        items, nxt, last = answers[token]
        return TokenPage(items, nxt, last)

    return fetch


@pytest.mark.parametrize(
    ("answers", "pages"),
    [
        ({None: ([1, 2], "a", False), "a": ([3], None, False)}, 2),  # no token: the end
        ({None: ([1, 2], "a", False), "a": ([3], "b", True)}, 2),  # isLast: the end
        ({None: ([], None, True)}, 1),
    ],
)
def test_iter_token_pages_ends_at_the_last_page(answers, pages):
    assert len(list(iter_token_pages(_tokens(answers), what="x", limits=SMALL))) == pages


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ({None: ([1], "t", False), "t": ([1], "t", False)}, "same page cursor"),  # repeated
        ({None: ([1], "a", False), "a": ([1], "b", False), "b": ([1], "a", False)}, "same page cursor"),
        ({None: ([1], "x" * 5000, False)}, "characters"),
    ],
)
def test_iter_token_pages_refuses_a_repeated_or_cycling_cursor(answers, why):
    with pytest.raises(JiraPagingError, match=why) as caught:
        list(iter_token_pages(_tokens(answers), what="project ALPHA", limits=SMALL))
    assert caught.value.reason.startswith("Jira's paging did not end for project ALPHA")
    assert not caught.value.transient


def test_iter_token_pages_remembers_the_start_cursor_of_a_resumed_loop():
    fetch = _tokens({"saved": ([1], "saved", False)})
    with pytest.raises(JiraPagingError):
        list(iter_token_pages(fetch, what="x", start="saved", limits=SMALL))


def test_iter_token_pages_stops_at_the_page_bound_when_tokens_never_repeat():
    calls = []

    def fetch(token: str | None) -> TokenPage[int]:
        calls.append(token)
        return TokenPage([1], f"t{len(calls)}", False)

    with pytest.raises(JiraPagingError, match="more than 20 pages"):
        list(iter_token_pages(fetch, what="x", limits=SMALL))
    assert len(calls) == 21


def test_iter_token_pages_stop_on_empty_ends_the_bulk_changelog():
    fetch = _tokens({None: ([1], "a", False), "a": ([], "b", False)})
    assert len(list(iter_token_pages(fetch, what="x", stop_on_empty=True))) == 2


@pytest.mark.parametrize(
    ("bodies", "values"),
    [
        ([{"values": [1, 2], "isLast": False}, {"values": [3], "isLast": True}], [[1, 2], [3]]),
        ([{"values": [1, 2], "isLast": False}, {"values": [], "isLast": False}], [[1, 2], []]),
        ([{"values": [1]}], [[1]]),  # no isLast: Jira's default is the last page
        ([{"values": [1], "isLast": "no"}], [[1]]),  # not a boolean: read as the last page
    ],
)
def test_iter_offset_pages_ends_at_is_last_or_an_empty_page(bodies, values):
    answers = iter(bodies)
    assert list(iter_offset_pages(lambda start: next(answers), what="x", limits=SMALL)) == values


def test_iter_offset_pages_stops_when_is_last_is_false_forever():
    starts: list[int] = []

    def fetch(start: int) -> dict[str, Any]:
        starts.append(start)
        return {"values": list(range(50)), "isLast": False}

    with pytest.raises(JiraPagingError, match="more than 20 pages"):
        list(iter_offset_pages(fetch, what="the boards", limits=SMALL))
    assert starts[:3] == [0, 50, 100] and len(starts) == 21


def test_iter_offset_pages_refuses_an_answer_without_values():
    with pytest.raises(JiraMalformedResponseError):
        list(iter_offset_pages(lambda start: {"values": 7}, what="x"))


def test_iter_array_pages_stops_at_the_item_bound_when_no_page_is_ever_empty():
    with pytest.raises(JiraPagingError, match="more than 1000 items"):
        list(iter_array_pages(lambda start: [{"accountId": "a"}] * 100, what="the user list", limits=SMALL))


def test_iter_array_pages_ends_at_the_empty_page_not_a_short_one():
    answers = iter([[1, 2, 3], [4], []])
    assert list(iter_array_pages(lambda start: next(answers), what="x")) == [[1, 2, 3], [4]]


def test_iter_array_pages_refuses_an_answer_that_is_not_an_array():
    with pytest.raises(JiraMalformedResponseError):
        list(iter_array_pages(lambda start: {"values": []}, what="x"))


def test_paging_guard_stops_past_its_deadline():
    now = [0.0]
    guard = PagingGuard("x", PagingLimits(max_seconds=10), clock=lambda: now[0])
    guard.page(1)
    now[0] = 11.0
    with pytest.raises(JiraPagingError, match="after 10 seconds"):
        guard.page(1)
