"""Batching of a segment's search pages into commits: a pure function of the pages.

A batch is what one commit stores: up to `max_issues` issues (one bulk changelog call covers
1,000), the cursor it started from and the cursor it ends at. On the way, only issues of the
segment's project with a key in Jira's syntax are kept (a hostile search answer may hold other
projects' issues or keys such as `../../etc`), a key seen on an earlier page is not kept twice, and
an issue too big for one DynamoDB item is reduced or, failing that, skipped. Everything dropped is
counted in the batch's `dropped`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.jira.paging import TokenPage

# DynamoDB refuses items over 400 KB; the estimate below leaves room for the item's other columns.
MAX_ISSUE_BYTES = 300_000
REDUCED_CHANGES = 50  # what an oversized issue keeps of each history
# A key seen once per segment invocation is remembered to drop duplicates: bounded by the pages.
_KEY_NUMBER = "[1-9][0-9]{0,17}"


@dataclass(frozen=True)
class Batch:
    """Issues to commit together, from `previous_cursor` up to `next_cursor` (None: the end)."""

    issues: list[JiraIssue]
    previous_cursor: str | None
    next_cursor: str | None
    pages: int
    last: bool
    dropped: Counter[str] = field(default_factory=Counter)
    preview: bool = False  # the first page of a first sync, stored before its batch is complete


def issue_key_pattern(project_key: str) -> re.Pattern[str]:
    """Jira's issue key syntax for one project: `KEY-<number>`."""
    return re.compile(f"{re.escape(project_key)}-{_KEY_NUMBER}")


def estimated_size(issue: JiraIssue) -> int:
    """An upper estimate of the issue's item in bytes (text is UTF-8: up to 4 bytes a character)."""
    text = len(issue.summary) + sum(len(label) for label in issue.labels)
    text += sum(len(c.from_value or "") + len(c.to_value or "") for c in issue.sprint_changes)
    text += sum(len(c.from_value or "") + len(c.to_value or "") for c in issue.status_changes)
    changes = len(issue.sprint_changes) + len(issue.status_changes)
    return 4 * text + 60 * changes + 12 * len(issue.sprint_ids) + 2000


def bounded_issue(issue: JiraIssue, dropped: Counter[str]) -> JiraIssue | None:
    """The issue if it fits one item, reduced (recent history only) if that makes it fit, or None."""
    if estimated_size(issue) <= MAX_ISSUE_BYTES:
        return issue
    reduced = issue.model_copy(
        update={
            "sprint_changes": issue.sprint_changes[-REDUCED_CHANGES:],
            "status_changes": issue.status_changes[-REDUCED_CHANGES:],
        }
    )
    if estimated_size(reduced) <= MAX_ISSUE_BYTES:
        dropped["reduced"] += 1
        return reduced
    dropped["oversized"] += 1
    return None


def keep_issues(
    issues: Iterable[JiraIssue], *, project_key: str, seen: set[str], dropped: Counter[str]
) -> list[JiraIssue]:
    """The issues of `project_key` with a key in Jira's syntax, each key once across calls that
    share `seen`."""
    pattern = issue_key_pattern(project_key)
    kept: list[JiraIssue] = []
    for issue in issues:
        if not pattern.fullmatch(issue.key):
            dropped[
                "malformed_key"
                if not re.fullmatch(f"[A-Z][A-Z0-9_]*-{_KEY_NUMBER}", issue.key)
                else "other_project"
            ] += 1
        elif issue.project_key != project_key:
            dropped["other_project"] += 1
        elif issue.key in seen:
            dropped["duplicate"] += 1
        else:
            seen.add(issue.key)
            kept.append(issue)
    return kept


def batches(
    pages: Iterable[TokenPage[dict[str, Any]]],
    *,
    parse: Callable[[dict[str, Any]], JiraIssue],
    project_key: str,
    max_issues: int,
    cut: Callable[[], bool] = lambda: False,
    preview: bool = False,
) -> Iterator[Batch]:
    """Group `pages` (from one cursor onwards) into batches of at most `max_issues` kept issues,
    or fewer where `cut()` says to stop at a page boundary (the invocation's time is running out).
    With `preview`, the first page is also yielded alone first, marked `preview`, unless it is the
    only page."""
    seen: set[str] = set()
    pending: list[JiraIssue] = []
    dropped: Counter[str] = Counter()
    start: str | None = None
    count = 0
    for page in pages:
        if count == 0:
            start = page.token
        count += 1
        kept = keep_issues(
            (parse(raw) for raw in page.items), project_key=project_key, seen=seen, dropped=dropped
        )
        last = page.is_last or not page.next_token
        if preview and not last:
            yield Batch(list(kept), page.token, page.next_token, 1, False, Counter(), preview=True)
        preview = False
        pending.extend(kept)
        if not last and len(pending) < max_issues and not cut():
            continue
        yield Batch(pending, start, None if last else page.next_token, count, last, dropped)
        pending, dropped, count = [], Counter(), 0
        if last:
            return
