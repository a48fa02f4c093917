"""Fetch every Jira user of the site, store them, and match them to the team's members."""

from __future__ import annotations

from jira_onboarding.contracts import StepInput, UsersSummary
from jira_onboarding.dal.repository import Repository
from jira_onboarding.logic.connections import open_jira
from jira_onboarding.logic.matching import MatchReport, match_members
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import TeamMember


def sync_users(step: StepInput) -> UsersSummary:
    repo = Repository(step.team_id)
    client = open_jira(step.team_id, repo)
    try:
        users = [user for page in client.iter_user_pages() for user in page]
    finally:
        client.close()
    stored = repo.save_jira_users(users)
    members: list[TeamMember] = []
    matching_error = None
    try:
        members = repo.list_members()
        report = match_members(members, users)
        for match in report.matches:
            if match.outcome == "matched":
                repo.set_member_match(match.member_id, match.account_id, match.method, match.confidence)
    except Exception as exc:  # matching is a bonus: the stored users must survive it
        logger.exception("Member matching failed; Jira users stored without matches")
        matching_error = f"Matching the team's members failed ({exc.__class__.__name__})."
        report = MatchReport(matches=[])
    summary = UsersSummary(
        users_fetched=len(users),
        users_stored=stored,
        members=len(members),
        matched=report.matched_count,
        ambiguous=[
            m.model_dump(include={"member_id", "candidates", "method"})
            for m in report.by_outcome("ambiguous")
        ],
        unmatched_members=[m.member_id for m in report.by_outcome("unmatched")],
        unmatched_jira_users=len(report.unmatched_jira_users),
        unmatched_jira_user_names=report.unmatched_jira_user_names,
        skipped_jira_users=report.skipped_jira_users,
        matching_error=matching_error,
    )
    repo.update_run(
        step.run_id,
        users_fetched=summary.users_fetched,
        users_matched=summary.matched,
        users_summary=summary.model_dump(),
    )
    metrics.add_metric(name="JiraUsersFetched", unit=MetricUnit.Count, value=summary.users_fetched)
    metrics.add_metric(name="TeamMembersMatched", unit=MetricUnit.Count, value=summary.matched)
    logger.info("Jira users synced", extra=summary.model_dump(exclude={"ambiguous"}))
    return summary
