"""Identity matching: which Jira account is which team member.

In order: exact email (normalised), then normalised display name (case, accents, spacing,
"Last, First"), then a GitHub login equal to an email's local part, then the work as evidence
(logic/people/evidence.py: whose issues the member's merged pull requests name). Only unique
matches are applied; ambiguous ones are reported, never guessed. Evidence decides only for a
member still undecided, only for an account nobody else claims, and, when the name pointed at
several accounts, only for one of them. A match a person set by hand is never touched.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.people.evidence import AuthorEvidence
from jira_onboarding.records import TeamMember

MANUAL = "manual"
PR_EVIDENCE = "pr_evidence"
METHOD_CONFIDENCE = {"email": 1.0, "display_name": 0.8, "login_email_local_part": 0.6}


class MemberMatch(BaseModel):
    member_id: str
    account_id: str | None = None
    method: str | None = None
    confidence: float | None = None
    outcome: str  # matched | manual | ambiguous | unmatched
    candidates: list[str] = Field(default_factory=list)
    evidence: AuthorEvidence | None = None  # what the member's pull requests say, when they say anything


class MatchReport(BaseModel):
    matches: list[MemberMatch]
    unmatched_jira_users: list[str] = Field(default_factory=list)  # eligible account ids nobody claimed
    unmatched_jira_user_names: list[str] = Field(default_factory=list)  # their display names, sorted
    skipped_jira_users: int = 0  # app, customer and inactive accounts (stored, never matched)

    def by_outcome(self, outcome: str) -> list[MemberMatch]:
        return [m for m in self.matches if m.outcome == outcome]

    def by_method(self, method: str) -> list[MemberMatch]:
        return [m for m in self.matches if m.outcome == "matched" and m.method == method]

    @property
    def matched_count(self) -> int:
        # A manual entry without an account says "this person has no Jira account": not a match.
        return sum(1 for m in self.matches if m.outcome in {"matched", MANUAL} and m.account_id)


def evidence_summary(report: MatchReport) -> list[dict]:
    """The evidence of every member left ambiguous or unmatched, for a person to decide."""
    return [
        {
            "member_id": m.member_id,
            "verdict": m.evidence.verdict,
            "linked_prs": m.evidence.linked_prs,
            "score": m.evidence.score,
            "top": [v.model_dump() for v in m.evidence.top],
        }
        for m in report.matches
        if m.evidence is not None and m.outcome in {"ambiguous", "unmatched"}
    ]


def normalise_email(value: str | None) -> str | None:
    if not value or "@" not in value:
        return None
    return value.strip().casefold()


def normalise_name(value: str | None) -> str | None:
    """Case, accents and spacing never matter; "Álvarez, José" reads as "jose alvarez"."""
    if not value or not value.strip():
        return None
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last:
            text = f"{first} {last}"
    return " ".join(text.replace(".", " ").split()) or None


def is_matchable(user: JiraUser) -> bool:
    return user.active and user.account_type == "atlassian"


def _indexes(eligible: list[JiraUser]) -> dict[str, dict[str, set[str]]]:
    by_email: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    by_local: dict[str, set[str]] = defaultdict(set)
    for user in eligible:
        email = normalise_email(user.email_address)
        if email:
            by_email[email].add(user.account_id)
            by_local[email.split("@", 1)[0]].add(user.account_id)
        name = normalise_name(user.display_name)
        if name:
            by_name[name].add(user.account_id)
    return {"email": by_email, "display_name": by_name, "login_email_local_part": by_local}


def _keys_for(member: TeamMember, method: str) -> set[str]:
    if method == "email":
        return {e for e in (normalise_email(x) for x in member.emails) if e}
    if method == "display_name":
        name = normalise_name(member.display_name)
        return {name} if name else set()
    login = _login_key(member)
    return {login} if login else set()


def _decide_unique(
    wanted: Mapping[str, set[str]],
    method: str,
    confidence: float,
    decided: dict[str, MemberMatch],
    claimed: set[str],
) -> None:
    """Members who want exactly one account that nobody else wants get it; the rest are ambiguous."""
    claims: dict[str, int] = defaultdict(int)
    for candidates in wanted.values():
        for account_id in candidates:
            claims[account_id] += 1
    for member_id, candidates in wanted.items():
        if len(candidates) == 1 and claims[next(iter(candidates))] == 1:
            account_id = next(iter(candidates))
            decided[member_id] = MemberMatch(
                member_id=member_id,
                account_id=account_id,
                method=method,
                confidence=confidence,
                outcome="matched",
            )
            claimed.add(account_id)
        else:
            # Two people for one account, or two accounts for one person: report, never guess.
            decided[member_id] = MemberMatch(
                member_id=member_id, outcome="ambiguous", method=method, candidates=sorted(candidates)
            )


def _login_key(member: TeamMember) -> str:
    return (member.github_login or "").strip().casefold()


def _match_by_evidence(
    members: list[TeamMember],
    evidence: Mapping[str, AuthorEvidence],
    eligible_ids: set[str],
    decided: dict[str, MemberMatch],
    claimed: set[str],
) -> None:
    """Members still undecided whose pull requests point decisively at an unclaimed account."""
    wanted: dict[str, tuple[str, float]] = {}
    for member in members:
        current = decided.get(member.member_id)
        found = evidence.get(_login_key(member))
        if found is None or found.account_id is None or (current and current.outcome != "ambiguous"):
            continue
        account_id = found.account_id
        if account_id not in eligible_ids or account_id in claimed:
            continue
        if current is not None and account_id not in current.candidates:
            continue  # the name says one thing and the work another: report both, pick neither
        wanted[member.member_id] = (account_id, found.score)
    claims = Counter(account_id for account_id, _ in wanted.values())
    for member_id, (account_id, score) in wanted.items():
        if claims[account_id] > 1:
            continue  # two members' work points at one account: each keeps its verdict so far
        decided[member_id] = MemberMatch(
            member_id=member_id,
            account_id=account_id,
            method=PR_EVIDENCE,
            confidence=score,
            outcome="matched",
        )
        claimed.add(account_id)


def match_members(
    members: Iterable[TeamMember],
    users: Iterable[JiraUser],
    evidence: Mapping[str, AuthorEvidence] | None = None,
) -> MatchReport:
    """Decide a match for every member. Pure: the caller applies the outcome.
    `evidence`: the pull-request evidence by casefolded GitHub login (score_evidence)."""
    members = list(members)
    all_users = list(users)
    eligible = [u for u in all_users if is_matchable(u)]
    eligible_ids = {u.account_id for u in eligible}
    claimed: set[str] = {m.jira_account_id for m in members if m.match_method == MANUAL and m.jira_account_id}
    decided: dict[str, MemberMatch] = {
        m.member_id: MemberMatch(
            member_id=m.member_id, account_id=m.jira_account_id, method=MANUAL, confidence=1.0, outcome=MANUAL
        )
        for m in members
        if m.match_method == MANUAL
    }
    for method, index in _indexes(eligible).items():
        # Who wants which account by this method, among members still undecided.
        wanted: dict[str, set[str]] = {}
        for member in members:
            if member.member_id in decided:
                continue
            candidates: set[str] = set()
            for key in _keys_for(member, method):
                candidates |= index.get(key, set())
            if candidates - claimed:
                wanted[member.member_id] = candidates - claimed
        _decide_unique(wanted, method, METHOD_CONFIDENCE[method], decided, claimed)
    evidence = evidence or {}
    _match_by_evidence(members, evidence, eligible_ids, decided, claimed)
    matches = []
    for member in members:
        match = decided.get(member.member_id) or MemberMatch(member_id=member.member_id, outcome="unmatched")
        if match.outcome != MANUAL:
            match.evidence = evidence.get(_login_key(member))
        matches.append(match)
    unmatched_ids = sorted(eligible_ids - claimed)
    names = {u.account_id: u.display_name or u.account_id for u in eligible}
    return MatchReport(
        matches=matches,
        unmatched_jira_users=unmatched_ids,
        unmatched_jira_user_names=sorted(names[a] for a in unmatched_ids),
        skipped_jira_users=len(all_users) - len(eligible),
    )
