"""After a run: compute the team's sprint metrics and PR linkage, store them as a snapshot, then
write insights from them. Also the reads the API serves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_onboarding.contracts import (
    InsightsResponse,
    InsightView,
    MetricsSummary,
    StepInput,
)
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.metrics import MetricsStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.insights.gather import gather_insight_data
from jira_onboarding.insights.generator import generate_insights
from jira_onboarding.jira.structure import ProjectVersion
from jira_onboarding.logic.people.matching import PR_EVIDENCE, MatchReport
from jira_onboarding.logic.people.rematch import rematch_members
from jira_onboarding.logic.people.users import matching_summary
from jira_onboarding.metrics_contracts import MetricsResponse
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import MetricsSnapshot, StoredInsight
from jira_onboarding.settings import get_settings
from jira_onboarding.sprint_metrics.issues import MetricIssue
from jira_onboarding.sprint_metrics.linkage import LinkageReport, correlate_pull_requests
from jira_onboarding.sprint_metrics.recorded_scopes import apply_recorded_scopes
from jira_onboarding.sprint_metrics.releases import ReleaseReport, release_metrics
from jira_onboarding.sprint_metrics.sprints import SprintMetricsReport, compute_sprint_metrics


def new_snapshot_id(now: datetime) -> str:
    """Time-ordered: the newest snapshot sorts last."""
    return f"snap-{now:%Y%m%dT%H%M%S%f}"


def team_sprint_metrics(
    repo: TeamStores, issues: Iterable[MetricIssue], *, now: datetime, closed_sprints: int | None = None
) -> SprintMetricsReport:
    """The team's sprint metrics from what the sync stored (Queries on the team's keys only);
    a sprint whose start was seen live has the commitment recorded then."""
    report = compute_sprint_metrics(
        [board for board, _ in repo.boards.list_boards()],
        repo.boards.list_sprints(),
        issues,
        now=now,
        closed_sprints=closed_sprints or get_settings().metrics_closed_sprints,
    )
    return apply_recorded_scopes(report, LiveStore(repo.team_id).sprint_scopes())


def team_pr_linkage(
    repo: TeamStores, issues: Iterable[MetricIssue], *, now: datetime, window_days: int | None = None
) -> LinkageReport:
    """The team's PR linkage over the last `window_days` (Queries on keys and the ByMergedAt index)."""
    days = window_days or get_settings().metrics_window_days
    start = now - timedelta(days=days)
    return correlate_pull_requests(
        # The window before counts too, for "done issues with a PR" only.
        repo.metrics.iter_merged_pull_requests(start - timedelta(days=days), now),
        project_keys=[p.project_key for p in repo.projects.list_tracked()],
        issues=issues,
        members=repo.people.list_members(),
        window_start=start,
        window_end=now,
    )


# A snapshot older than this is computed again even if nothing changed: the PR window moves.
MAX_UNCHANGED_SNAPSHOT_AGE = timedelta(days=7)


def unchanged_snapshot(repo: TeamStores, run_id: str, now: datetime) -> str | None:
    """The latest snapshot's id if nothing it depends on changed since: every selected project in
    this run wrote no issue and was not swept, and no pull request merged since. A quiet night
    then costs a Query of the projects and one of the PR index instead of reading every issue."""
    latest = repo.metrics.latest_snapshot_time()
    if latest is None or now - latest[1] > MAX_UNCHANGED_SNAPSHOT_AGE:
        return None
    snapshot_id, computed_at = latest
    for project in repo.projects.list_tracked():
        if not project.selected:
            continue
        swept = project.last_swept_at is not None and project.last_swept_at > computed_at
        if project.run_id != run_id or project.issues_written or swept:
            return None
    if next(iter(repo.metrics.iter_merged_pull_requests(computed_at, now)), None) is not None:
        return None
    return snapshot_id


def _unchanged_summary(step: StepInput, snapshot_id: str) -> MetricsSummary:
    logger.info("Jira metrics unchanged: not computed again", extra={"snapshot_id": snapshot_id})
    return MetricsSummary(
        team_id=step.team_id,
        run_id=step.run_id,
        snapshot_id=snapshot_id,
        boards=0,
        sprints=0,
        merged_prs=0,
        insights=0,
        generator="unchanged",
        unchanged=True,
    )


def _rematch(repo: TeamStores, run_id: str, now: datetime) -> MatchReport | None:
    """Match the members again now that issues are stored (logic/people/rematch.py says why here), and
    bring the run's users summary up to date once Sync Users has written it (until then, Sync
    Users writes its own, from a matching that ran after the users were stored)."""
    try:
        report = rematch_members(repo, now=now)
        run = repo.runs.get(run_id)
        if report is not None and run is not None and run.users_summary:
            summary = {**run.users_summary, **matching_summary(report)}
            repo.runs.record_users(run_id, summary, matched=report.matched_count)
        return report
    except Exception:  # matching is a bonus: the metrics must survive it
        logger.exception("Matching the members by evidence failed; metrics computed without it")
        return None


def team_releases(repo: TeamStores, issues: Iterable[MetricIssue]) -> ReleaseReport:
    """Issues done per fix version and their lead time to release, from the stored versions."""
    versions = {
        p.project_key: [ProjectVersion.model_validate(v) for v in p.versions or ()]
        for p in repo.projects.list_tracked(attributes=["versions"])
    }
    return release_metrics(issues, versions)


def compute_metrics(
    step: StepInput, *, now: datetime | None = None, bedrock_client: Any = None
) -> MetricsSummary:
    now = now or datetime.now(UTC)
    repo = TeamStores(step.team_id)
    unchanged = unchanged_snapshot(repo, step.run_id, now)
    if unchanged is not None:
        return _unchanged_summary(step, unchanged)
    rematch = _rematch(repo, step.run_id, now)  # first: the linkage reads the members' accounts
    # Read once for both (they used to read every issue twice), lean: the metrics' own issue type.
    issues = repo.issues.list_metric_issues(p.project_key for p in repo.projects.list_tracked())
    sprint_report = team_sprint_metrics(repo, issues, now=now)
    linkage = team_pr_linkage(repo, issues, now=now)
    releases = team_releases(repo, issues)
    del issues  # the insights below need only the snapshot
    snapshot_id = new_snapshot_id(now)
    repo.metrics.save_snapshot(
        MetricsSnapshot(
            team_id=step.team_id,
            snapshot_id=snapshot_id,
            run_id=step.run_id,
            computed_at=now,
            sprint_metrics=sprint_report.model_dump(mode="json"),
            linkage=linkage.model_dump(mode="json"),
            releases=releases.model_dump(mode="json"),
        )
    )
    generated = generate_insights(gather_insight_data(step.team_id, now=now), bedrock_client=bedrock_client)
    repo.metrics.save_insights(
        snapshot_id,
        [
            StoredInsight(
                rank=rank,
                generator=generated.generator,
                model_id=generated.model_id,
                fallback_reason=generated.fallback_reason,
                **insight.model_dump(),
            )
            for rank, insight in enumerate(generated.insights, start=1)
        ],
    )
    summary = MetricsSummary(
        team_id=step.team_id,
        run_id=step.run_id,
        snapshot_id=snapshot_id,
        boards=len(sprint_report.boards),
        sprints=sum(len(b.sprints) for b in sprint_report.boards),
        merged_prs=linkage.merged_prs,
        linkage_rate=linkage.linkage_rate,
        insights=len(generated.insights),
        generator=generated.generator,
        released_versions=releases.released_versions,
        members_matched=rematch.matched_count if rematch else None,
        matched_by_evidence=len(rematch.by_method(PR_EVIDENCE)) if rematch else None,
    )
    metrics.add_metric(name="InsightsWritten", unit=MetricUnit.Count, value=summary.insights)
    logger.info("Jira metrics computed", extra=summary.model_dump())
    return summary


def latest_metrics(team_id: str) -> MetricsResponse:
    snapshot = MetricsStore(team_id).latest_snapshot()
    if snapshot is None:
        raise OnboardingRequestError(
            "No Jira metrics yet: they are computed at the end of a sync.", status=404
        )
    return MetricsResponse(
        snapshot_id=snapshot.snapshot_id,
        run_id=snapshot.run_id,
        computed_at=snapshot.computed_at.isoformat(),
        # (stored as the models dumped them: validated back into the same models)
        sprint_metrics=SprintMetricsReport.model_validate(snapshot.sprint_metrics)
        if snapshot.sprint_metrics is not None
        else None,
        linkage=LinkageReport.model_validate(snapshot.linkage) if snapshot.linkage is not None else None,
        releases=ReleaseReport.model_validate(snapshot.releases) if snapshot.releases is not None else None,
    )


def latest_insights(team_id: str) -> InsightsResponse:
    store = MetricsStore(team_id)
    snapshot = store.latest_snapshot()
    insights = store.list_insights(snapshot.snapshot_id) if snapshot else []
    if snapshot is None or not insights:
        raise OnboardingRequestError("No insights yet: they are written at the end of a sync.", status=404)
    first = insights[0]
    return InsightsResponse(
        snapshot_id=snapshot.snapshot_id,
        generator=first.generator,
        model_id=first.model_id,
        fallback_reason=first.fallback_reason,
        insights=[InsightView.model_validate(i.model_dump()) for i in sorted(insights, key=lambda i: i.rank)],
    )
