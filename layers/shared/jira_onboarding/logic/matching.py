"""Identity matching: which Jira account is which team member.

In order: exact email (normalised), then normalised display name (case, accents, spacing,
"Last, First"), then a GitHub login equal to an email's local part. Only unique matches are applied;
ambiguous ones are reported, never guessed. A match a person set by hand is never touched.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, Field

from jira_onboarding.jira.models import JiraUser
from jira_onboarding.records import TeamMember

MANUAL = "manual"
METHOD_CONFIDENCE = {"email": 1.0, "display_name": 0.8, "login_email_local_part": 0.6}


class MemberMatch(BaseModel):
    member_id: str
    account_id: str | None = None
    method: str | None = None
    confidence: float | None = None
    outcome: str  # matched | manual | ambiguous | unmatched
    candidates: list[str] = Field(default_factory=list)


class MatchReport(BaseModel):
    matches: list[MemberMatch]
    unmatched_jira_users: list[str] = Field(default_factory=list)  # eligible account ids nobody claimed
    unmatched_jira_user_names: list[str] = Field(default_factory=list)  # their display names, sorted
    skipped_jira_users: int = 0  # app, customer and inactive accounts (stored, never matched)

    def by_outcome(self, outcome: str) -> list[MemberMatch]:
        return [m for m in self.matches if m.outcome == outcome]

    @property
    def matched_count(self) -> int:
        # A manual entry without an account says "this person has no Jira account": not a match.
        return sum(1 for m in self.matches if m.outcome in {"matched", MANUAL} and m.account_id)


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


def match_members(members: Iterable[TeamMember], users: Iterable[JiraUser]) -> MatchReport:
    """Decide a match for every member. Pure: the caller applies the outcome."""
    members = list(members)
    all_users = list(users)
    eligible = [u for u in all_users if is_matchable(u)]
    eligible_ids = {u.account_id for u in eligible}

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

    claimed: set[str] = {m.jira_account_id for m in members if m.match_method == MANUAL and m.jira_account_id}
    decided: dict[str, MemberMatch] = {}
    for member in members:
        if member.match_method == MANUAL:
            decided[member.member_id] = MemberMatch(
                member_id=member.member_id,
                account_id=member.jira_account_id,
                method=MANUAL,
                confidence=1.0,
                outcome=MANUAL,
            )

    def keys_for(member: TeamMember, method: str) -> set[str]:
        if method == "email":
            return {e for e in (normalise_email(x) for x in member.emails) if e}
        if method == "display_name":
            name = normalise_name(member.display_name)
            return {name} if name else set()
        login = (member.github_login or "").strip().casefold()
        return {login} if login else set()

    indexes = {"email": by_email, "display_name": by_name, "login_email_local_part": by_local}
    for method, index in indexes.items():
        # Who wants which account by this method, among members still undecided.
        wanted: dict[str, set[str]] = {}
        for member in members:
            if member.member_id in decided:
                continue
            candidates: set[str] = set()
            for key in keys_for(member, method):
                candidates |= index.get(key, set())
            candidates -= claimed
            if candidates:
                wanted[member.member_id] = candidates
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
                    confidence=METHOD_CONFIDENCE[method],
                    outcome="matched",
                )
                claimed.add(account_id)
            else:
                # Two people for one account, or two accounts for one person: report, never guess.
                decided[member_id] = MemberMatch(
                    member_id=member_id, outcome="ambiguous", method=method, candidates=sorted(candidates)
                )

    matches = [
        decided.get(m.member_id) or MemberMatch(member_id=m.member_id, outcome="unmatched") for m in members
    ]
    unmatched_ids = sorted(eligible_ids - claimed)
    names = {u.account_id: u.display_name or u.account_id for u in eligible}
    return MatchReport(
        matches=matches,
        unmatched_jira_users=unmatched_ids,
        unmatched_jira_user_names=sorted(names[a] for a in unmatched_ids),
        skipped_jira_users=len(all_users) - len(eligible),
    )
