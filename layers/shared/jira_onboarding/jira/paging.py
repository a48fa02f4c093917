"""The loops over Jira's pages, written once: one generator per cursor kind, each guarded.

Jira pages three ways: a `nextPageToken` (the enhanced search, the bulk changelog), `startAt` with
`isLast` (the Agile API), and bare arrays that end with an empty page (`/users/search`). A broken or
hostile Jira can repeat a token forever, cycle through a few, say `isLast: false` on every page or
never send an empty one. Every generator here therefore checks, page by page: a repeated cursor
(which also catches cycles, since every cursor seen is remembered), a page bound, an item bound
and a deadline, and ends with `JiraPagingError` ("Jira's paging did not end ..."), which is not
transient: paging again would page the same way. Callers only iterate.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from jira_onboarding.errors import JiraMalformedResponseError, JiraPagingError

T = TypeVar("T")

# A cursor is saved on the segment's item and sent back: Jira's are under a few hundred characters.
MAX_CURSOR_CHARS = 2048


@dataclass(frozen=True)
class PagingLimits:
    """Hard bounds of one paging loop. The defaults are far above any real site (a page bound of
    20,000 is two million issues at 100 a page) and far below what exhausts a Lambda."""

    max_pages: int = 20_000
    max_items: int = 2_000_000
    max_seconds: float = 3600.0


DEFAULT_LIMITS = PagingLimits()


@dataclass
class PagingGuard:
    """Checks one loop's pages as they come. `clock` is injectable for tests."""

    what: str
    limits: PagingLimits = DEFAULT_LIMITS
    clock: Callable[[], float] = time.monotonic
    pages: int = 0
    items: int = 0
    _seen: set[bytes] = field(default_factory=set)
    _started: float | None = None

    def _fail(self, why: str) -> JiraPagingError:
        return JiraPagingError(f"Jira's paging did not end for {self.what}: {why}.")

    def cursor(self, value: object) -> None:
        """A cursor about to be followed: refused if seen before in this loop (repeated or cycling)."""
        text = str(value)
        if len(text) > MAX_CURSOR_CHARS:
            raise self._fail(f"it sent a page cursor of {len(text)} characters")
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if digest in self._seen:
            raise self._fail(f"it sent the same page cursor again after {self.pages} pages")
        self._seen.add(digest)

    def page(self, items: int) -> None:
        """A page of `items` has arrived: refused past the page, item or time bound."""
        now = self.clock()
        if self._started is None:
            self._started = now
        self.pages += 1
        self.items += items
        limits = self.limits
        if self.pages > limits.max_pages:
            raise self._fail(f"more than {limits.max_pages} pages")
        if self.items > limits.max_items:
            raise self._fail(f"more than {limits.max_items} items")
        if now - self._started > limits.max_seconds:
            raise self._fail(f"still paging after {int(limits.max_seconds)} seconds")


@dataclass(frozen=True)
class TokenPage(Generic[T]):
    """One page of a `nextPageToken` endpoint, already read into items."""

    items: Sequence[T]
    next_token: str | None
    is_last: bool = False
    token: str | None = None  # the token this page was fetched with (None: the first page)


def iter_token_pages(
    fetch: Callable[[str | None], TokenPage[T]],
    *,
    what: str,
    start: str | None = None,
    limits: PagingLimits = DEFAULT_LIMITS,
    stop_on_empty: bool = False,
) -> Iterator[TokenPage[T]]:
    """Pages of a `nextPageToken` endpoint from `start`, until `isLast` or no token (or an empty
    page, with `stop_on_empty`: the bulk changelog's end)."""
    guard = PagingGuard(what, limits)
    token = start
    if token is not None:
        guard.cursor(token)
    while True:
        page = fetch(token)
        guard.page(len(page.items))
        page = TokenPage(page.items, page.next_token, page.is_last, token)
        yield page
        if page.is_last or not page.next_token or (stop_on_empty and not page.items):
            return
        guard.cursor(page.next_token)
        token = page.next_token


def iter_offset_pages(
    fetch: Callable[[int], Any],
    *,
    what: str,
    limits: PagingLimits = DEFAULT_LIMITS,
) -> Iterator[list[Any]]:
    """Values of a `startAt`/`isLast` endpoint (Agile 1.0), page by page. An empty page ends it
    whatever `isLast` says: `startAt` would not move."""
    guard = PagingGuard(what, limits)
    start = 0
    while True:
        body = fetch(start)
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise JiraMalformedResponseError(f"Jira's answer for {what} had no list of values.")
        guard.page(len(values))
        yield values
        if body.get("isLast", True) is not False or not values:
            return
        start += len(values)
        guard.cursor(start)


def iter_array_pages(
    fetch: Callable[[int], Any],
    *,
    what: str,
    limits: PagingLimits = DEFAULT_LIMITS,
) -> Iterator[list[Any]]:
    """Pages of an endpoint that answers a bare array and ends with an empty one (`/users/search`
    has no `isLast`: a short page is not the end)."""
    guard = PagingGuard(what, limits)
    start = 0
    while True:
        body = fetch(start)
        if not isinstance(body, list):
            raise JiraMalformedResponseError(f"Jira's answer for {what} was not a JSON array.")
        if not body:
            return
        guard.page(len(body))
        yield body
        start += len(body)
        guard.cursor(start)
