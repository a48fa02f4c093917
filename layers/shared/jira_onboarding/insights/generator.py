"""Insights for a team: Amazon Bedrock when a model is configured, else (or when Bedrock answers
badly) a deterministic offline generator that writes them from the same data."""

from __future__ import annotations

from typing import Any

from jira_onboarding.insights.bedrock import BedrockAnswerError, ask_bedrock
from jira_onboarding.insights.gather import (
    BoardInsightData,
    GithubInsightData,
    InsightData,
    JiraInsightData,
    ReleaseInsightData,
)
from jira_onboarding.insights.models import SEVERITY_ORDER, Insight, InsightSet
from jira_onboarding.insights.prompt import render_prompt
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

MAX_INSIGHTS = 5


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _no_jira_insight(data: InsightData) -> Insight:
    return Insight(
        title="Connect and sync Jira to see sprint and traceability insights",
        detail=(
            "Only GitHub activity is known for this team: sprint metrics and PR linkage need a synced Jira."
        ),
        category="general",
        evidence=[f"{data.github.merged_prs if data.github else 0} PRs merged in {data.window_days} days"],
    )


def _linkage_insights(jira: JiraInsightData) -> list[Insight]:
    """How traceable the merged work is: PRs that link an issue, keys of unknown projects, done
    issues without a PR."""
    out: list[Insight] = []
    link = jira.linkage
    if link and link.linkage_rate is not None:
        rate = link.linkage_rate
        reasons = link.unlinked_reasons
        out.append(
            Insight(
                title=f"{_pct(rate)} of merged PRs link a Jira issue",
                detail=(
                    "Most work is traceable to Jira."
                    if rate >= 0.8
                    else "Ask for the issue key in the branch name or title so work stays traceable."
                ),
                category="traceability",
                severity="info" if rate >= 0.8 else ("warning" if rate >= 0.5 else "critical"),
                evidence=[
                    f"{link.linked_prs} of {link.merged_prs} merged PRs linked",
                    f"unlinked: no key {reasons.get('no_key', 0)}, unknown project "
                    f"{reasons.get('unknown_project', 0)}, key not found "
                    f"{reasons.get('key_not_found', 0)}",
                ],
            )
        )
        if reasons.get("unknown_project"):
            out.append(
                Insight(
                    title=f"{reasons['unknown_project']} PRs name keys of unknown projects (typos?)",
                    detail=(
                        "Keys such as transposed project letters never link; a PR title check "
                        "would catch them."
                    ),
                    category="traceability",
                    severity="warning",
                    evidence=link.unknown_project_examples,
                )
            )
        if link.done_without_pr_share is not None and link.done_without_pr_share >= 0.3:
            out.append(
                Insight(
                    title=f"{_pct(link.done_without_pr_share)} of done Jira issues have no linked PR",
                    detail="Either the work needed no code or its PRs do not name the issue.",
                    category="traceability",
                    severity="info",
                    evidence=[f"{link.done_without_pr} of {link.done_issues} done issues"],
                )
            )
    return out


def _board_insights(board: BoardInsightData) -> list[Insight]:
    """One board's rules: planning and velocity here, the rest in `_board_work_insights`."""
    out: list[Insight] = []
    name = board.name or f"board {board.board_id}"
    if board.last_completion_rate is not None and board.last_completion_rate < 0.7:
        out.append(
            Insight(
                title=(
                    f"{name}: {board.last_sprint_name} finished "
                    f"{_pct(board.last_completion_rate)} of its scope"
                ),
                detail="Commit to less at planning, or protect the sprint from additions.",
                category="planning",
                severity="warning",
                evidence=[
                    f"committed {board.last_committed}, added {board.last_added}, removed "
                    f"{board.last_removed}, carried over {board.last_carried_over}"
                ],
            )
        )
    if board.carried_over_repeatedly:
        out.append(
            Insight(
                title=(f"{name}: {board.carried_over_repeatedly} issues carried over two sprints or more"),
                detail="Split or re-plan issues that keep rolling over.",
                category="planning",
                severity="warning",
                evidence=board.carried_over_repeatedly_keys[:5],
            )
        )
    if board.velocity_trend in {"up", "down"}:
        out.append(
            Insight(
                title=f"{name}: velocity trending {board.velocity_trend}",
                detail=f"Average {board.velocity_average_points} points per closed sprint.",
                category="delivery",
                severity="warning" if board.velocity_trend == "down" else "info",
                evidence=[f"average {board.velocity_average_points} points"],
            )
        )
    return out + _board_work_insights(board, name)


def _board_work_insights(board: BoardInsightData, name: str) -> list[Insight]:
    """The board's estimation, quality and cycle-time rules."""
    out: list[Insight] = []
    if board.unestimated_share is not None and board.unestimated_share >= 0.2:
        out.append(
            Insight(
                title=f"{name}: {_pct(board.unestimated_share)} of sprint issues are unestimated",
                detail="Velocity undercounts the work; estimate before the sprint starts.",
                category="estimation",
                severity="warning",
                evidence=[f"unestimated share {_pct(board.unestimated_share)}"],
            )
        )
    if board.bug_share is not None and board.bug_share >= 0.3:
        out.append(
            Insight(
                title=f"{name}: bugs are {_pct(board.bug_share)} of sprint work",
                detail="A high bug share crowds out planned work.",
                category="quality",
                severity="warning",
                evidence=[f"bug share {_pct(board.bug_share)}"],
            )
        )
    if board.cycle_time_days is not None:
        out.append(
            Insight(
                title=f"{name}: median cycle time {board.cycle_time_days} days",
                detail=board.cycle_time_basis or "",
                category="delivery",
                severity="info",
                evidence=[board.cycle_time_basis or ""],
            )
        )
    return out


def _merge_time_insight(github: GithubInsightData, window_days: int) -> Insight:
    return Insight(
        title=f"PRs take a median {github.median_hours_to_merge} h from open to merge",
        detail=f"{github.merged_prs} PRs merged in the last {window_days} days.",
        category="delivery",
        severity="info",
        evidence=[f"{github.merged_prs} merged PRs"],
    )


def offline_insights(data: InsightData) -> list[Insight]:
    """Rules over the same figures the prompt shows; deterministic, ordered by severity."""
    jira = data.jira
    if jira is None:
        out = [_no_jira_insight(data)]
    else:
        out = _linkage_insights(jira)
        for board in jira.boards:
            out += _board_insights(board)
    if jira is not None and jira.releases is not None:
        out.append(_release_insight(jira.releases))
    if data.github and data.github.median_hours_to_merge is not None:
        out.append(_merge_time_insight(data.github, data.window_days))
    out.sort(key=lambda i: SEVERITY_ORDER[i.severity])  # stable: rule order within a severity
    return out[:MAX_INSIGHTS]


def _release_insight(releases: ReleaseInsightData) -> Insight:
    """How long finished work waits to ship: done to the end of its fix version's release day."""
    lead = releases.lead_time_days_median
    evidence = [
        f"{releases.done_issues_released} done issues in {releases.released_versions} released versions"
    ]
    if releases.last_release:
        evidence.append(f"last release: {releases.last_release}")
    if releases.done_after_release:
        evidence.append(f"{releases.done_after_release} done issues were given a version after it shipped")
    return Insight(
        title=f"Done work waits a median {lead} days to be released"
        if lead is not None
        else f"{releases.released_versions} versions released",
        detail="From an issue's resolution to the end of its fix version's release day.",
        category="delivery",
        severity="warning" if lead is not None and lead > 14 else "info",
        evidence=evidence,
    )


def generate_insights(
    data: InsightData, *, bedrock_client: Any = None, model_id: str | None = None
) -> InsightSet:
    """Bedrock first when a model id is configured; the offline generator otherwise or on any bad answer."""
    model_id = get_settings().bedrock_model_id if model_id is None else model_id
    if not model_id:
        return InsightSet(insights=offline_insights(data), generator="offline")
    try:
        answer = ask_bedrock(render_prompt(data), model_id=model_id, client=bedrock_client)
    except BedrockAnswerError as exc:
        logger.warning(
            "Bedrock gave no usable insights; using the offline generator", extra={"reason": str(exc)}
        )
        return InsightSet(
            insights=offline_insights(data),
            generator="offline",
            model_id=model_id,
            fallback_reason=str(exc)[:300],
        )
    ordered = sorted(answer.insights, key=lambda i: SEVERITY_ORDER[i.severity])
    return InsightSet(insights=ordered[:MAX_INSIGHTS], generator="bedrock", model_id=model_id)
