"""Fetch every Jira user of the site, store them, and match them to the team's members.

Throttled (a quota pause: Jira's hour, the site's budget), the step hands the wait to the state
machine, as a project's segment does, and runs again after it; bounded as a project's waits are.

A nightly run fetches the users again only when they were last fetched a week ago or more, or when
the team's members changed since (a new hire shows up on GitHub): otherwise every night would cost
a call per 1,000 users and match nothing new.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_onboarding.contracts import StepInput, UsersSummary
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.jira_access.waits import (
    MAX_HELD_SECONDS,
    MAX_THROTTLED_SECONDS,
    handed_wait_seconds,
)
from jira_onboarding.logic.people.matching import PR_EVIDENCE, MatchReport, evidence_summary
from jira_onboarding.logic.people.rematch import rematch_members
from jira_onboarding.observability import MetricUnit, logger, metrics
from jira_onboarding.records import TeamMember

USERS_REFRESH_INTERVAL = timedelta(days=7)


def members_digest(members: list[TeamMember]) -> str:
    """What matching reads from the members (not its own results): who they are, by which names."""
    rows = sorted(
        (m.member_id, m.github_login or "", m.display_name or "", sorted(m.emails)) for m in members
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:32]


def _refresh_skipped(repo: TeamStores, step: StepInput, digest: str) -> str | None:
    """Why a nightly run can leave the users as they are, or None when they must be fetched."""
    run = repo.runs.get(step.run_id)
    connection = repo.connection.get()
    if run is None or run.trigger != "nightly" or connection is None or connection.users_synced_at is None:
        return None
    if connection.users_members_digest != digest:
        return None
    if datetime.now(UTC) - connection.users_synced_at >= USERS_REFRESH_INTERVAL:
        return None
    return (
        f"Jira users were fetched at {connection.users_synced_at.isoformat(timespec='minutes')} and the "
        "team's members have not changed since; they are fetched again weekly."
    )


def without_erased_data(users: list[JiraUser], erased: set[str]) -> list[JiraUser]:
    """`users` with the personal data of erased accounts stripped (a closed account Jira still
    lists, as "Former user" or under its old name): matched as nobody, stored as nothing."""
    if not erased:
        return users
    return [
        JiraUser.model_validate({"accountId": u.account_id, "accountType": u.account_type, "active": False})
        if u.account_id in erased
        else u
        for u in users
    ]


def matching_summary(report: MatchReport) -> dict[str, Any]:
    """The users summary's matching part (Compute Metrics writes it again after matching again)."""
    return {
        "matched": report.matched_count,
        "matched_by_evidence": len(report.by_method(PR_EVIDENCE)),
        "evidence": evidence_summary(report),
        "ambiguous": [
            m.model_dump(include={"member_id", "candidates", "method"})
            for m in report.by_outcome("ambiguous")
        ],
        "unmatched_members": [m.member_id for m in report.by_outcome("unmatched")],
        "unmatched_jira_users": len(report.unmatched_jira_users),
        "unmatched_jira_user_names": report.unmatched_jira_user_names,
        "skipped_jira_users": report.skipped_jira_users,
    }


def _throttled(repo: TeamStores, step: StepInput, exc: JiraThrottledError, *, members: int) -> UsersSummary:
    """The pause to hand to the users' Wait For Jira; past the run's allowance, the step fails."""
    wait = handed_wait_seconds(exc)
    waited = repo.runs.add_users_wait(step.run_id, wait)
    if waited > (MAX_HELD_SECONDS if exc.held else MAX_THROTTLED_SECONDS):
        raise JiraRateLimitExhaustedError(
            "Jira kept the users rate limited longer than a run waits; the nightly run fetches them again."
        ) from exc
    logger.warning(
        "Jira users throttled; handing the wait to the state machine",
        extra={"wait": wait, "why": str(exc)},  # our sentence or Jira's scrubbed text: no secret
    )
    return UsersSummary(users_fetched=0, members=members, matched=0, wait_seconds=wait)


def sync_users(step: StepInput) -> UsersSummary:
    repo = TeamStores(step.team_id)
    members = repo.people.list_members()
    digest = members_digest(members)
    skipped = _refresh_skipped(repo, step, digest)
    if skipped:
        summary = UsersSummary(users_fetched=0, members=len(members), matched=0, refresh_skipped=skipped)
        repo.runs.record_users(step.run_id, summary.model_dump())
        logger.info("Jira users left as they are", extra={"reason": skipped})
        return summary
    client = open_jira(step.team_id, repo, run_id=step.run_id)
    try:
        users = [user for page in client.iter_user_pages() for user in page]
    except JiraThrottledError as exc:
        if exc.retry_after is None:
            raise
        return _throttled(repo, step, exc, members=len(members))
    finally:
        client.close()
    users = without_erased_data(users, repo.people.erased_account_ids())
    written = repo.people.save_jira_users(users)
    matching_error = None
    try:
        report = rematch_members(repo, users) or MatchReport(matches=[])
    except Exception as exc:  # matching is a bonus: the stored users must survive it
        logger.exception("Member matching failed; Jira users stored without matches")
        matching_error = f"Matching the team's members failed ({exc.__class__.__name__})."
        report = MatchReport(matches=[])
    summary = UsersSummary(
        users_fetched=len(users),
        users_written=written,
        members=len(members),
        **matching_summary(report),
        matching_error=matching_error,
    )
    repo.connection.mark_users_synced(digest)
    repo.runs.record_users(
        step.run_id, summary.model_dump(), fetched=summary.users_fetched, matched=summary.matched
    )
    metrics.add_metric(name="JiraUsersFetched", unit=MetricUnit.Count, value=summary.users_fetched)
    metrics.add_metric(name="TeamMembersMatched", unit=MetricUnit.Count, value=summary.matched)
    logger.info("Jira users synced", extra=summary.model_dump(exclude={"ambiguous", "evidence"}))
    return summary
