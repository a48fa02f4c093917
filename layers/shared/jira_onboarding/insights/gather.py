"""The data the insight generator works from: the team, its GitHub delivery, and a Jira section when
Jira is connected and synced (from the latest metrics snapshot), None otherwise."""

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.records import MetricsSnapshot, SyncStatus
from jira_onboarding.settings import get_settings


class BoardInsightData(BaseModel):
    board_id: int
    name: str | None = None
    velocity_average_points: float | None = None
    velocity_trend: str | None = None
    last_sprint_name: str | None = None
    last_completion_rate: float | None = None
    last_committed: int | None = None
    last_added: int | None = None
    last_removed: int | None = None
    last_carried_over: int | None = None
    active_sprint_name: str | None = None
    active_completion_rate: float | None = None
    cycle_time_days: float | None = None
    cycle_time_basis: str | None = None
    unestimated_share: float | None = None
    bug_share: float | None = None
    carried_over_repeatedly: int | None = None
    carried_over_repeatedly_keys: list[str] = Field(default_factory=list)


class LinkageInsightData(BaseModel):
    merged_prs: int | None = None
    linked_prs: int | None = None
    linkage_rate: float | None = None
    unlinked_reasons: dict[str, int] = Field(default_factory=dict)
    unknown_project_examples: list[str] = Field(default_factory=list)
    weakest_repository: str | None = None
    done_issues: int | None = None
    done_without_pr: int | None = None
    done_without_pr_share: float | None = None
    linked_median_hours: float | None = None
    unlinked_median_hours: float | None = None


class ReleaseInsightData(BaseModel):
    released_versions: int = 0
    done_issues_released: int = 0
    lead_time_days_median: float | None = None  # done to release, over every released version
    last_release: str | None = None  # "NAME (YYYY-MM-DD): N done, median M days to ship"
    done_after_release: int = 0  # fixed work given a version after that version shipped


class JiraInsightData(BaseModel):
    snapshot_id: str
    computed_at: datetime | None = None
    boards: list[BoardInsightData] = Field(default_factory=list)
    linkage: LinkageInsightData | None = None
    releases: ReleaseInsightData | None = None


class GithubInsightData(BaseModel):
    merged_prs: int = 0
    median_hours_to_merge: float | None = None


class InsightData(BaseModel):
    team_id: str
    generated_at: datetime
    window_days: int
    members: int = 0
    matched_members: int = 0
    github: GithubInsightData | None = None
    jira: JiraInsightData | None = None


def _board(raw: dict[str, Any]) -> BoardInsightData:
    sprints = raw.get("sprints") or []
    closed = [s for s in sprints if s.get("state") == "closed"]
    active = [s for s in sprints if s.get("state") == "active"]
    last = closed[-1] if closed else {}
    current = active[-1] if active else {}
    cycle = raw.get("cycle_time") or {}
    repeated = raw.get("carried_over_repeatedly") or []

    def count(sprint: dict[str, Any], name: str) -> int | None:
        value = sprint.get(name)
        return value.get("issues") if isinstance(value, dict) else None

    return BoardInsightData(
        board_id=raw.get("board_id", 0),
        name=raw.get("board_name"),
        velocity_average_points=raw.get("velocity_average_points"),
        velocity_trend=(raw.get("velocity_trend") or {}).get("direction"),
        last_sprint_name=last.get("name"),
        last_completion_rate=last.get("completion_rate_issues"),
        last_committed=count(last, "committed"),
        last_added=count(last, "added"),
        last_removed=count(last, "removed"),
        last_carried_over=count(last, "carried_over"),
        active_sprint_name=current.get("name"),
        active_completion_rate=current.get("completion_rate_issues"),
        cycle_time_days=cycle.get("median_days"),
        cycle_time_basis=cycle.get("basis"),
        unestimated_share=raw.get("unestimated_share"),
        bug_share=raw.get("bug_share"),
        carried_over_repeatedly=len(repeated),
        carried_over_repeatedly_keys=[r.get("key") for r in repeated if r.get("key")][:10],
    )


def _linkage(raw: dict[str, Any] | None) -> LinkageInsightData | None:
    if not raw:
        return None
    repos = [r for r in raw.get("by_repository") or [] if r.get("rate") is not None]
    weakest = min(repos, key=lambda r: r["rate"]) if repos else None
    done = raw.get("done_issues_without_pr") or {}
    cycle = raw.get("pr_cycle_time") or {}
    return LinkageInsightData(
        merged_prs=raw.get("merged_prs"),
        linked_prs=raw.get("linked_prs"),
        linkage_rate=raw.get("linkage_rate"),
        unlinked_reasons=raw.get("unlinked_reasons") or {},
        unknown_project_examples=[
            e["title"] for e in raw.get("unlinked_examples") or [] if e.get("reason") == "unknown_project"
        ][:3],
        weakest_repository=f"{weakest['repository']} ({weakest['rate'] * 100:.0f}%)" if weakest else None,
        done_issues=done.get("done_issues"),
        done_without_pr=done.get("without_pr"),
        done_without_pr_share=done.get("share"),
        linked_median_hours=cycle.get("linked_median_hours"),
        unlinked_median_hours=cycle.get("unlinked_median_hours"),
    )


def _releases(raw: dict[str, Any] | None) -> ReleaseInsightData | None:
    if not raw or not raw.get("released_versions"):
        return None
    released = [v for v in raw.get("versions") or [] if v.get("released") and v.get("release_date")]
    last = max(released, key=lambda v: v["release_date"]) if released else None
    text = None
    if last is not None:
        lead = last.get("lead_time_days_median")
        text = f"{last['name']} ({last['release_date']}): {last['done_issues']} done" + (
            f", median {lead} days from done to release" if lead is not None else ""
        )
    return ReleaseInsightData(
        released_versions=raw.get("released_versions") or 0,
        done_issues_released=raw.get("done_issues_released") or 0,
        lead_time_days_median=raw.get("lead_time_days_median"),
        last_release=text,
        done_after_release=sum(v.get("done_after_release") or 0 for v in released),
    )


def jira_section(snapshot: MetricsSnapshot) -> JiraInsightData:
    boards = (snapshot.sprint_metrics or {}).get("boards") or []
    return JiraInsightData(
        snapshot_id=snapshot.snapshot_id,
        computed_at=snapshot.computed_at,
        boards=[_board(b) for b in boards],
        linkage=_linkage(snapshot.linkage),
        releases=_releases(snapshot.releases),
    )


def gather_insight_data(team_id: str, *, now: datetime | None = None) -> InsightData:
    """Everything the insight generator reads for one team (Queries on the team's keys only)."""
    repo = TeamStores(team_id)
    now = now or datetime.now(UTC)
    window_days = get_settings().metrics_window_days
    members = repo.people.list_members()
    merged = list(repo.metrics.iter_merged_pull_requests(now - timedelta(days=window_days), now))
    hours = [(p.merged_at - p.created_at).total_seconds() / 3600 for p in merged if p.merged_at]
    jira = None
    synced = any(p.sync_status == SyncStatus.COMPLETE for p in repo.projects.list_tracked())
    if repo.connection.get() is not None and synced:
        snapshot = repo.metrics.latest_snapshot()
        if snapshot is not None:
            jira = jira_section(snapshot)
    return InsightData(
        team_id=team_id,
        generated_at=now,
        window_days=window_days,
        members=len(members),
        matched_members=sum(1 for m in members if m.jira_account_id),
        github=GithubInsightData(
            merged_prs=len(merged),
            median_hours_to_merge=round(statistics.median(hours), 1) if hours else None,
        ),
        jira=jira,
    )
