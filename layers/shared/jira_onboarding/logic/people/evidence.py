"""The work as evidence of identity: whose Jira issues a GitHub author's merged pull requests name.

Jira hides most emails and display names collide, but a person's pull requests name the issues
they work on. Each linked merged PR votes for the account responsible for its issue: the assignee,
or the reporter when nobody is assigned. An author whose votes go to one account far more often
than to any other is very likely that account.

The score is the Wilson lower bound (one-sided 95%) of the share of the author's linked PRs that
vote for the top account: 5 of 5 scores 0.65, 3 of 3 only 0.53 and 10 of 20 0.33, so thin
histories and split ones score low by construction, not by a separate rule. A verdict is decisive
only when the score reaches MIN_SCORE, the top account has at least MIN_LINKED_PRS votes, and the
runner-up has at most half as many. Pure: data access gathers the work items (dal/member_matching.py).
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, Field

from jira_onboarding.sprint_metrics.linkage import find_key_candidates

MIN_LINKED_PRS = 5
MIN_SCORE = 0.5
Z_ONE_SIDED_95 = 1.645
MAX_ACCOUNTS_LISTED = 3


@dataclass(frozen=True, slots=True)
class IssuePeople:
    """Who an issue belongs to, as stored (account ids; None when the field is empty)."""

    assignee: str | None
    reporter: str | None

    @property
    def responsible(self) -> str | None:
        return self.assignee or self.reporter


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One merged pull request that names a stored issue, and the account that issue belongs to."""

    author_login: str
    pr_id: str
    issue_key: str
    account_id: str


class AccountVotes(BaseModel):
    account_id: str
    prs: int
    share: float


class AuthorEvidence(BaseModel):
    """What an author's linked pull requests say about who they are in Jira."""

    author_login: str
    linked_prs: int
    top: list[AccountVotes] = Field(default_factory=list)  # the most voted accounts, best first
    score: float = 0.0  # Wilson lower bound of the top account's share
    account_id: str | None = None  # set only when the evidence is decisive
    verdict: str  # decisive | thin | split
    examples: list[str] = Field(default_factory=list)  # a few "pr -> issue" pairs for the top account


def wilson_lower_bound(successes: int, trials: int, z: float = Z_ONE_SIDED_95) -> float:
    """The lower end of the Wilson score interval of successes/trials (0 for no trials)."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def score_author(author_login: str, votes: Mapping[str, int], examples: Iterable[str] = ()) -> AuthorEvidence:
    """The verdict on one author from their votes per account."""
    total = sum(votes.values())
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [
        AccountVotes(account_id=a, prs=n, share=round(n / total, 3)) for a, n in ranked[:MAX_ACCOUNTS_LISTED]
    ]
    if not ranked:
        return AuthorEvidence(author_login=author_login, linked_prs=0, verdict="thin")
    best, best_prs = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    score = round(wilson_lower_bound(best_prs, total), 3)
    if best_prs < MIN_LINKED_PRS:
        verdict = "thin"
    elif score < MIN_SCORE or runner_up * 2 > best_prs:
        verdict = "split"
    else:
        verdict = "decisive"
    return AuthorEvidence(
        author_login=author_login,
        linked_prs=total,
        top=top,
        score=score,
        account_id=best if verdict == "decisive" else None,
        verdict=verdict,
        examples=list(examples)[:MAX_ACCOUNTS_LISTED],
    )


def work_items(
    pull_requests: Iterable[tuple[str, str | None, Iterable[str | None]]],
    people: Mapping[str, IssuePeople],
) -> list[WorkItem]:
    """Pull requests as (pr_id, author_login, texts) -> one work item per PR naming a stored issue.

    A PR naming several issues votes once, for the first one (in the order written) that is stored
    and belongs to somebody: a PR is one piece of one person's work."""
    items = []
    for pr_id, author, texts in pull_requests:
        login = (author or "").strip().casefold()
        if not login:
            continue
        for key in find_key_candidates(*texts):
            owner = people.get(key)
            if owner is not None and owner.responsible:
                items.append(WorkItem(login, pr_id, key, owner.responsible))
                break
    return items


def score_evidence(items: Iterable[WorkItem]) -> dict[str, AuthorEvidence]:
    """Every author's evidence, by casefolded GitHub login."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        votes[item.author_login][item.account_id] += 1
        pairs = examples[(item.author_login, item.account_id)]
        if len(pairs) < MAX_ACCOUNTS_LISTED:
            pairs.append(f"{item.pr_id} -> {item.issue_key}")
    out = {}
    for login, counter in votes.items():
        best = min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        out[login] = score_author(login, counter, examples[(login, best)])
    return out
