"""The connected site's projects, for the team to choose from (GET /jira/projects).

One page of the route is read from `GET /rest/api/3/project/search?expand=insight` (Jira's
issue count and last issue update per project), as many Jira pages as it takes to fill it: Jira
may answer fewer than asked (it caps maxResults). Each project says whether the team tracks it
already and, when big, how its first sync will go: its recent issues first (the plan's recent
phase), then its history, with an estimate from the rate this team's earlier syncs of the site
measured (or an assumed rate until there is one).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from jira_onboarding.choice_contracts import FirstSyncPlan, JiraProjectsResponse, SiteProject
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraError, OnboardingRequestError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.paging import PagingLimits, iter_offset_pages
from jira_onboarding.logic.run.plan import RECENT_DAYS, SPLIT_ABOVE
from jira_onboarding.records import SyncStatus, TrackedProject

MAX_PAGE = 100
JIRA_PAGES_PER_ANSWER = 5  # Jira answering 1 project a page must not hold the request open
PROJECT_PAGE_LIMITS = PagingLimits(
    max_pages=JIRA_PAGES_PER_ANSWER + 1, max_items=10 * MAX_PAGE, max_seconds=15
)
MAX_RECENT_COUNTS = 10  # one approximate count per big project of a page, at most this many
# About one search page of 100 issues a second with its changelog: what a first sync of a real
# site does before anything was measured on it.
ASSUMED_ISSUES_PER_SECOND = 100.0
STYLES = {"classic": "company-managed", "next-gen": "team-managed"}


def fetch_projects_page(
    client: JiraClient, start_at: int, max_results: int
) -> tuple[list[dict], int | None, int | None]:
    """Jira's projects from `start_at`, up to `max_results`: (values, next start or None, total).
    Through the client's guarded offset pager; at most JIRA_PAGES_PER_ANSWER Jira pages."""
    values: list[dict] = []
    last_body: dict[str, Any] = {}

    def fetch(offset: int) -> Any:
        body = client.request(
            "GET",
            "/rest/api/3/project/search",
            what="the project list",
            params={
                "startAt": start_at + offset,
                "maxResults": max_results - len(values),
                "orderBy": "key",
                "expand": "insight",
            },
        )
        last_body.clear()
        last_body.update(body if isinstance(body, dict) else {})
        return body

    consumed = 0
    pages = iter_offset_pages(fetch, what="the project list", limits=PROJECT_PAGE_LIMITS)
    for n, page in enumerate(pages, start=1):
        consumed += len(page)
        values += [v for v in page if isinstance(v, dict) and isinstance(v.get("key"), str)]
        if last_body.get("isLast", True) is not False or not page:
            break
        if len(values) >= max_results or n >= JIRA_PAGES_PER_ANSWER:
            total = last_body.get("total")
            return values, start_at + consumed, total if isinstance(total, int) else None
    total = last_body.get("total")
    return values, None, total if isinstance(total, int) else None


def measured_rate(projects: Iterable[TrackedProject]) -> float | None:
    """Issues per second over the team's completed syncs (None before any): what each run fetched
    over its time (what the store holds would make a quick incremental run look fast)."""
    issues, seconds = 0, 0.0
    for p in projects:
        if p.sync_status == SyncStatus.COMPLETE and p.started_at and p.finished_at and p.issues_fetched:
            elapsed = (p.finished_at - p.started_at).total_seconds()
            if elapsed > 0:
                issues += p.issues_fetched
                seconds += elapsed
    return issues / seconds if issues and seconds else None


def first_sync_plan(count: int | None, rate: float | None, recent: int | None = None) -> FirstSyncPlan:
    """What the first sync of a project of `count` issues (`recent` of them updated in the last
    RECENT_DAYS days, when known) will look like at `rate` issues a second."""
    per_second = rate or ASSUMED_ISSUES_PER_SECOND
    basis = "measured" if rate else "assumed"
    split = count is not None and count > SPLIT_ABOVE
    total_s = round(count / per_second) if count is not None else None
    recent_s = round(recent / per_second) if split and recent is not None else None
    if count is None:
        sentence = "Jira gave no issue count for this project; it syncs whole."
    elif split:
        first = (
            f"the {recent:,} updated in the last {RECENT_DAYS} days"
            if recent is not None
            else (f"the ones updated in the last {RECENT_DAYS} days")
        )
        when = f" (about {_duration(recent_s)})" if recent_s is not None else ""
        sentence = (
            f"About {count:,} issues: {first} first{when}, then the history; "
            f"about {_duration(total_s or 0)} in all at {per_second:,.0f} issues a second ({basis} rate)."
        )
    else:
        sentence = f"About {count:,} issues, synced whole in about {_duration(total_s or 0)} ({basis} rate)."
    return FirstSyncPlan(
        split=split,
        recent_days=RECENT_DAYS,
        recent_issues_estimate=recent if split else None,
        estimated_seconds=total_s,
        recent_estimated_seconds=recent_s,
        issues_per_second=round(per_second, 1),
        rate_basis=basis,
        sentence=sentence,
    )


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{max(seconds, 1)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _insight(raw: dict[str, Any]) -> dict[str, Any]:
    insight = raw.get("insight")
    return insight if isinstance(insight, dict) else {}


def issue_count(raw: dict[str, Any]) -> int | None:
    count = _insight(raw).get("totalIssueCount")
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def describe_project(
    raw: dict[str, Any], tracked: set[str], rate: float | None, recent: int | None = None
) -> SiteProject:
    """One of Jira's project objects as the page shows it (pure)."""
    count = issue_count(raw)
    style = raw.get("style")
    if style not in STYLES and isinstance(raw.get("simplified"), bool):
        style = "next-gen" if raw["simplified"] else "classic"
    key = raw["key"]
    last = _insight(raw).get("lastIssueUpdateTime")
    return SiteProject(
        key=key,
        name=raw.get("name") if isinstance(raw.get("name"), str) else key,
        type=raw.get("projectTypeKey") if isinstance(raw.get("projectTypeKey"), str) else None,
        style=STYLES.get(style) if isinstance(style, str) else None,
        issue_count_estimate=count,
        last_issue_update=last if isinstance(last, str) else None,
        tracked=key in tracked,
        first_sync=None if key in tracked else first_sync_plan(count, rate, recent),
    )


def _recent_counts(client: JiraClient, values: list[dict[str, Any]]) -> dict[str, int]:
    """For the big projects (the first MAX_RECENT_COUNTS of them): issues updated recently, the
    part their first sync shows first. A period ("-30d") is relative to now, as the plan's is not,
    but an estimate needs no exact boundary."""
    big = [v["key"] for v in values if (issue_count(v) or 0) > SPLIT_ABOVE][:MAX_RECENT_COUNTS]
    out = {}
    for key in big:
        count = client.approximate_count(
            f'project = "{key}" AND updated >= -{RECENT_DAYS}d', what=f"the recent issue count of {key}"
        )
        if isinstance(count, int):
            out[key] = count
    return out


def list_site_projects(
    team_id: str, start_at: int = 0, max_results: int = 50, *, client: JiraClient | None = None
) -> JiraProjectsResponse:
    """One page of the connected site's projects, marked tracked or with their first-sync plan."""
    from jira_onboarding.logic.jira_access.gateway import open_jira  # lazy: credentials only here

    repo = TeamStores(team_id)
    own = client is None
    client = client or open_jira(team_id, repo)
    try:
        values, next_start, total = fetch_projects_page(client, start_at, min(max(1, max_results), MAX_PAGE))
        repo.connection.record_listed_projects(
            [v["key"] for v in values],
            first_page=start_at == 0,
            last_page=next_start is None,
            now=time.time(),
        )
        projects = repo.projects.list_tracked()
        tracked = {p.project_key for p in projects if p.selected}
        recent = _recent_counts(client, [v for v in values if v["key"] not in tracked])
    except JiraError as exc:
        # Jira's own trouble is not the caller's mistake: a 502 that says what Jira said.
        raise OnboardingRequestError(
            f"Your Jira site did not list its projects: {exc.reason}", status=502
        ) from exc
    finally:
        if own:
            client.close()
    rate = measured_rate(projects)
    return JiraProjectsResponse(
        projects=[describe_project(v, tracked, rate, recent.get(v["key"])) for v in values],
        start_at=start_at,
        next_start_at=next_start,
        total=total,
    )
