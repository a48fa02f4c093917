"""PR <-> Jira linkage: which merged pull requests name a Jira issue of the team, and which do not (why).

A key counts wherever people write it (title, branch, body) and however they case it (`alpha-12`
in a branch is ALPHA-12); it links only when its project is one of the team's synced projects and
the issue exists in the synced issues. Everything else is unlinked, with its reason.
"""

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from jira_onboarding.records import PullRequest, TeamMember
from jira_onboarding.sprint_metrics.issues import MetricIssue, to_micros

# A Jira key: a project key (a letter, then letters, digits or underscores), a dash, a number; not
# glued to more letters or digits on either side. Case-insensitive: keys are upper-cased after.
KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9_]+-[1-9][0-9]*(?![A-Za-z0-9])")
MAX_EXAMPLES = 20
MAX_KEYS_LISTED = 50

BASIS: dict[str, str] = {
    "merged_prs": "Pull requests merged in [window_start, window_end); unmerged ones are left out.",
    "linked": "A Jira key in the title, branch or body (any case) whose project is one of the team's "
    "synced projects and whose issue exists in the synced issues.",
    "linkage_rate": "linked / merged_prs.",
    "by_author": "Grouped by team member through TeamMember.github_login (case-insensitive), with the "
    "member's matched Jira account; authors who are not team members are listed by login.",
    "unlinked_reasons": "no_key: nothing shaped like a key; unknown_project: keys only of projects the "
    "team does not sync (typos such as ALPAH-12 land here); key_not_found: a key of a team project "
    "that is not among the synced issues.",
    "done_issues_without_pr": "Issues of the team's projects resolved (done category) in the window that "
    "no pull request merged in the window or the window before links to.",
    "pr_cycle_time": "Median hours from PR creation to merge, linked vs unlinked.",
}


class UnlinkedReason(StrEnum):
    NO_KEY = "no_key"
    UNKNOWN_PROJECT = "unknown_project"
    KEY_NOT_FOUND = "key_not_found"


@dataclass(frozen=True, slots=True)
class PrLink:
    """The verdict on one pull request (one per PR: a plain class, pydantic validation is not needed)."""

    pr_id: str
    linked_keys: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    reason: UnlinkedReason | None = None

    @property
    def linked(self) -> bool:
        return bool(self.linked_keys)


class LinkCounts(BaseModel):
    merged: int = 0
    linked: int = 0
    rate: float | None = None


class RepositoryLinkage(LinkCounts):
    repository: str


class AuthorLinkage(LinkCounts):
    author_login: str | None
    member_id: str | None = None
    display_name: str | None = None
    jira_account_id: str | None = None


class UnlinkedExample(BaseModel):
    pr_id: str
    title: str
    reason: UnlinkedReason
    candidates: list[str] = Field(default_factory=list)


class DoneIssuesWithoutPr(BaseModel):
    done_issues: int = 0
    without_pr: int = 0
    share: float | None = None
    keys: list[str] = Field(default_factory=list)


class PrCycleTime(BaseModel):
    linked_median_hours: float | None = None
    linked_prs: int = 0
    unlinked_median_hours: float | None = None
    unlinked_prs: int = 0


class LinkageReport(BaseModel):
    window_start: datetime
    window_end: datetime
    project_keys: list[str]
    merged_prs: int
    linked_prs: int
    linkage_rate: float | None
    by_repository: list[RepositoryLinkage]
    by_author: list[AuthorLinkage]
    unlinked_reasons: dict[str, int]
    unlinked_examples: list[UnlinkedExample]
    done_issues_without_pr: DoneIssuesWithoutPr
    pr_cycle_time: PrCycleTime
    basis: dict[str, str] = Field(default_factory=lambda: dict(BASIS))


def find_key_candidates(*texts: str | None) -> list[str]:
    """Every key-shaped token in the texts, upper-cased, in order of appearance, without repeats."""
    # One search over the texts joined by a newline: a key never spans one (nor touches it: the
    # pattern's boundaries accept it like the start or end of a text), so the matches are the same.
    joined = "\n".join(text for text in texts if text)
    if "-" not in joined:
        return []
    return list(dict.fromkeys(map(str.upper, KEY_PATTERN.findall(joined))))


def link_pull_request(
    pr: PullRequest, project_keys: AbstractSet[str], issue_keys: AbstractSet[str]
) -> PrLink:
    candidates = find_key_candidates(pr.title, pr.branch, pr.body)
    linked = [key for key in candidates if key in issue_keys and key.rsplit("-", 1)[0] in project_keys]
    if linked:
        return PrLink(pr_id=pr.pr_id, linked_keys=linked, candidates=candidates)
    if not candidates:
        reason = UnlinkedReason.NO_KEY
    elif any(key.rsplit("-", 1)[0] in project_keys for key in candidates):
        reason = UnlinkedReason.KEY_NOT_FOUND
    else:
        reason = UnlinkedReason.UNKNOWN_PROJECT
    return PrLink(pr_id=pr.pr_id, candidates=candidates, reason=reason)


def _rate(linked: int, merged: int) -> float | None:
    return round(linked / merged, 3) if merged else None


def _median_hours(prs: list[PullRequest]) -> float | None:
    hours = [(pr.merged_at - pr.created_at).total_seconds() / 3600 for pr in prs if pr.merged_at]
    return round(statistics.median(hours), 1) if hours else None


def _linked_in_window(
    pull_requests: Iterable[PullRequest],
    projects: frozenset[str],
    issue_keys: set[str],
    window_start: datetime,
    window_end: datetime,
) -> tuple[list[tuple[PullRequest, PrLink]], set[str]]:
    """The PRs merged in the window with their links (by PR id), and every issue key referenced by
    a PR merged before the window's end."""
    referenced: set[str] = set()
    in_window: list[tuple[PullRequest, PrLink]] = []
    for pr in pull_requests:
        merged_at = pr.merged_at
        if merged_at is None or merged_at >= window_end:
            continue
        verdict = link_pull_request(pr, projects, issue_keys)
        referenced.update(verdict.linked_keys)
        if merged_at >= window_start:
            in_window.append((pr, verdict))
    in_window.sort(key=lambda pair: pair[1].pr_id)
    return in_window, referenced


def _tally(
    in_window: list[tuple[PullRequest, PrLink]], members: Iterable[TeamMember]
) -> tuple[list[RepositoryLinkage], list[AuthorLinkage]]:
    """Merged and linked PRs per repository (by name) and per author (most merged first)."""
    # Tallied in plain [merged, linked] pairs: a pydantic model's attribute writes cost ~1 us each.
    repo_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_login = {(m.github_login or "").casefold(): m for m in members if m.github_login}
    authors: dict[str, tuple[TeamMember | None, str | None, list[int]]] = {}
    for pr, verdict in in_window:
        is_linked = int(verdict.linked)
        counts = repo_counts[pr.repository]
        counts[0] += 1
        counts[1] += is_linked
        login = (pr.author_login or "").casefold()
        member = by_login.get(login)
        group = member.member_id if member else f"login:{login}"
        entry = authors.get(group)
        if entry is None:
            entry = authors[group] = (member, pr.author_login, [0, 0])
        entry[2][0] += 1
        entry[2][1] += is_linked
    author_counts = [
        AuthorLinkage(
            author_login=member.github_login if member else author_login,
            member_id=member.member_id if member else None,
            display_name=member.display_name if member else None,
            jira_account_id=member.jira_account_id if member else None,
            merged=merged,
            linked=linked_count,
            rate=_rate(linked_count, merged),
        )
        for member, author_login, (merged, linked_count) in authors.values()
    ]
    by_repository = [
        RepositoryLinkage(
            repository=name, merged=merged, linked=linked_count, rate=_rate(linked_count, merged)
        )
        for name, (merged, linked_count) in sorted(repo_counts.items())
    ]
    return by_repository, sorted(
        author_counts, key=lambda a: (-a.merged, a.member_id or a.author_login or "")
    )


def _reason_counts(unlinked: list[tuple[PullRequest, PrLink]]) -> dict[str, int]:
    reasons = dict.fromkeys((r.value for r in UnlinkedReason), 0)
    for _, verdict in unlinked:
        reasons[verdict.reason.value] += 1  # type: ignore[union-attr]
    return reasons


def correlate_pull_requests(
    pull_requests: Iterable[PullRequest],
    *,
    project_keys: Iterable[str],
    issues: Iterable[MetricIssue],
    members: Iterable[TeamMember],
    window_start: datetime,
    window_end: datetime,
) -> LinkageReport:
    """Pure: the linkage of the PRs merged in the window. PRs merged before the window only count
    towards "done issues with a PR"."""
    projects = frozenset(k.upper() for k in project_keys)
    start_at, end_at = to_micros(window_start), to_micros(window_end)
    issues = [i for i in issues if i.project_key in projects]
    done_keys = sorted(
        i.key
        for i in issues
        if i.status_category == "done" and i.resolved is not None and start_at <= i.resolved < end_at
    )
    in_window, referenced = _linked_in_window(
        pull_requests, projects, {i.key for i in issues}, window_start, window_end
    )
    linked = [pr for pr, verdict in in_window if verdict.linked]
    unlinked = [(pr, verdict) for pr, verdict in in_window if not verdict.linked]
    by_repository, by_author = _tally(in_window, members)
    without = [key for key in done_keys if key not in referenced]

    return LinkageReport(
        window_start=window_start,
        window_end=window_end,
        project_keys=sorted(projects),
        merged_prs=len(in_window),
        linked_prs=len(linked),
        linkage_rate=_rate(len(linked), len(in_window)),
        by_repository=by_repository,
        by_author=by_author,
        unlinked_reasons=_reason_counts(unlinked),
        unlinked_examples=[
            UnlinkedExample(
                pr_id=verdict.pr_id,
                title=pr.title,
                reason=verdict.reason,  # type: ignore[arg-type]
                candidates=verdict.candidates,
            )
            for pr, verdict in unlinked[:MAX_EXAMPLES]
        ],
        done_issues_without_pr=DoneIssuesWithoutPr(
            done_issues=len(done_keys),
            without_pr=len(without),
            share=_rate(len(without), len(done_keys)),
            keys=without[:MAX_KEYS_LISTED],
        ),
        pr_cycle_time=PrCycleTime(
            linked_median_hours=_median_hours(linked),
            linked_prs=len(linked),
            unlinked_median_hours=_median_hours([pr for pr, _ in unlinked]),
            unlinked_prs=len(unlinked),
        ),
    )
