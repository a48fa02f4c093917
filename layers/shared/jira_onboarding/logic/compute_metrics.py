"""After a run: compute the team's sprint metrics and PR linkage, store them as a snapshot, then
write insights from them. Also the reads the API serves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jira_onboarding.contracts import (
    InsightsResponse,
    InsightView,
    MetricsResponse,
    MetricsSummary,
    StepInput,
)
from jira_onboarding.dal.repository import Repository
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.insights.gather import gather_insight_data
from jira_onboarding.insights.generator import generate_insights
from jira_onboarding.logic.matching import PR_EVIDENCE, MatchReport
from jira_onboarding.logic.rematch import rematch_members
from jira_onboarding.logic.sync_users import matching_summary
from jira_onboarding.metrics.linkage import get_pr_jira_correlation
from jira_onboarding.metrics.sprints import get_jira_sprint_metrics
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import MetricsSnapshot, StoredInsight


def new_snapshot_id(now: datetime) -> str:
    """Time-ordered: the newest snapshot sorts last."""
    return f"snap-{now:%Y%m%dT%H%M%S%f}"


def _rematch(repo: Repository, run_id: str, now: datetime) -> MatchReport | None:
    """Match the members again now that issues are stored (logic/rematch.py says why here), and
    bring the run's users summary up to date once Sync Users has written it (until then, Sync
    Users writes its own, from a matching that ran after the users were stored)."""
    try:
        report = rematch_members(repo, now=now)
        run = repo.get_run(run_id)
        if report is not None and run is not None and run.users_summary:
            repo.update_run(
                run_id,
                users_matched=report.matched_count,
                users_summary={**run.users_summary, **matching_summary(report)},
            )
        return report
    except Exception:  # matching is a bonus: the metrics must survive it
        logger.exception("Matching the members by evidence failed; metrics computed without it")
        return None


def compute_metrics(
    step: StepInput, *, now: datetime | None = None, bedrock_client: Any = None
) -> MetricsSummary:
    now = now or datetime.now(UTC)
    repo = Repository(step.team_id)
    rematch = _rematch(repo, step.run_id, now)  # first: the linkage reads the members' accounts
    # Read once for both (they used to read every issue twice), lean: the metrics' own issue type.
    issues = repo.list_metric_issues()
    sprint_report = get_jira_sprint_metrics(step.team_id, now=now, issues=issues)
    linkage = get_pr_jira_correlation(step.team_id, now=now, issues=issues)
    del issues  # the insights below need only the snapshot
    snapshot_id = new_snapshot_id(now)
    repo.save_metrics_snapshot(
        MetricsSnapshot(
            team_id=step.team_id,
            snapshot_id=snapshot_id,
            run_id=step.run_id,
            computed_at=now,
            sprint_metrics=sprint_report.model_dump(mode="json"),
            linkage=linkage.model_dump(mode="json"),
        )
    )
    generated = generate_insights(gather_insight_data(step.team_id, now=now), bedrock_client=bedrock_client)
    repo.save_insights(
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
        members_matched=rematch.matched_count if rematch else None,
        matched_by_evidence=len(rematch.by_method(PR_EVIDENCE)) if rematch else None,
    )
    metrics.add_metric(name="InsightsWritten", unit=MetricUnit.Count, value=summary.insights)
    logger.info("Jira metrics computed", extra=summary.model_dump())
    return summary


def latest_metrics(team_id: str) -> MetricsResponse:
    snapshot = Repository(team_id).latest_metrics_snapshot()
    if snapshot is None:
        raise OnboardingRequestError(
            "No Jira metrics yet: they are computed at the end of a sync.", status=404
        )
    return MetricsResponse(
        snapshot_id=snapshot.snapshot_id,
        run_id=snapshot.run_id,
        computed_at=snapshot.computed_at.isoformat(),
        sprint_metrics=snapshot.sprint_metrics,
        linkage=snapshot.linkage,
    )


def latest_insights(team_id: str) -> InsightsResponse:
    repo = Repository(team_id)
    snapshot = repo.latest_metrics_snapshot()
    insights = repo.list_insights(snapshot.snapshot_id) if snapshot else []
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
