"""Fetch every Jira user of the site, store them, and match them to the team's members."""

from __future__ import annotations

from jira_onboarding.contracts import StepInput, UsersSummary
from jira_onboarding.dal.repository import Repository
from jira_onboarding.logic.connections import open_jira
from jira_onboarding.logic.matching import match_members
from jira_onboarding.observability import MetricUnit, logger, metrics


def sync_users(step: StepInput) -> UsersSummary:
    repo = Repository(step.team_id)
    client = open_jira(step.team_id, repo)
    try:
        users = [user for page in client.iter_user_pages() for user in page]
    finally:
        client.close()
    stored = repo.save_jira_users(users)
    members = repo.list_members()
    report = match_members(members, users)
    applied = 0
    for match in report.matches:
        if match.outcome == "matched" and repo.set_member_match(
            match.member_id, match.account_id, match.method, match.confidence
        ):
            applied += 1
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
        skipped_jira_users=report.skipped_jira_users,
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
