"""Match the team's members to its Jira accounts with every signal there is, and apply the result.

The pull-request evidence needs the issues stored, but `Sync Users` runs alongside the project
phases: on a first sync it may find no issue yet. So matching runs twice a run: in `Sync Users`
(with the users just fetched and whatever issues are stored: all of them on a nightly run), and in
`Compute Metrics` after each phase (with the stored users, once the phase's issues are in, and
before the linkage reads the members' accounts). Whichever comes last sees both: Sync Users stores
the users before it reads the evidence, and Compute Metrics runs after its phase's issues are
stored. Applying is idempotent: an unchanged match or evidence is not written again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.evidence import AuthorEvidence, IssuePeople, score_evidence, work_items
from jira_onboarding.logic.people.matching import MANUAL, MatchReport, match_members
from jira_onboarding.records import TeamMember
from jira_onboarding.sprint_metrics.linkage import find_key_candidates

EVIDENCE_WINDOW_DAYS = 365
MAX_EVIDENCE_PRS = 20_000  # a year of a large team's merged PRs; the newest past it are ignored


def gather_evidence(repo: TeamStores, project_keys: set[str], now: datetime) -> dict[str, AuthorEvidence]:
    """Every author's evidence from the PRs merged in the last EVIDENCE_WINDOW_DAYS."""
    since = now - timedelta(days=EVIDENCE_WINDOW_DAYS)
    prs = list(islice(repo.metrics.iter_merged_pr_texts(since, now), MAX_EVIDENCE_PRS))
    keys = {
        key
        for _, _, texts in prs
        for key in find_key_candidates(*texts)
        if key.rsplit("-", 1)[0] in project_keys
    }
    people = {key: IssuePeople(*owners) for key, owners in repo.issues.issue_people(keys).items()}
    return score_evidence(work_items(prs, people))


def apply_report(repo: TeamStores, members: list[TeamMember], report: MatchReport) -> int:
    """Write the matches that changed and every member's evidence; returns matches written."""
    by_id = {m.member_id: m for m in members}
    written = 0
    for match in report.matches:
        member = by_id[match.member_id]
        if match.outcome == MANUAL:
            continue
        current = (member.jira_account_id, member.match_method, member.match_confidence)
        if match.outcome == "matched" and current != (match.account_id, match.method, match.confidence):
            written += repo.people.set_member_match(
                match.member_id, match.account_id, match.method, match.confidence
            )
        evidence = match.evidence.model_dump(mode="json") if match.evidence else None
        if evidence != member.match_evidence:
            repo.people.save_match_evidence(match.member_id, evidence)
    return written


def rematch_members(
    repo: TeamStores, users: list[JiraUser] | None = None, *, now: datetime | None = None
) -> MatchReport | None:
    """Match and apply; `users`: the ones just fetched (else the stored ones). None when no Jira
    user is stored yet (a first run's Compute Metrics may come before Sync Users stored them)."""
    users = repo.people.list_jira_users() if users is None else users
    if not users:
        return None
    members = repo.people.list_members()
    projects = {p.project_key for p in repo.projects.list_tracked(attributes=["project_key"])}
    evidence = gather_evidence(repo, projects, now or datetime.now(UTC)) if projects else {}
    report = match_members(members, users, evidence)
    apply_report(repo, members, report)
    return report
