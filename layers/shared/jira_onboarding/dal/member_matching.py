"""Data access for matching members to Jira accounts beyond the automatic step: the team's merged
pull requests and who their issues belong to (read lean, a projection), the evidence kept on each
member for the members view, and the matches a person sets by hand."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from jira_onboarding.dal.tables import JiraIssueItem, PullRequestItem, TeamMemberItem, bind_tables, utcnow
from jira_onboarding.logic.match_evidence import IssuePeople

_PR_ATTRIBUTES = ["pr_id", "author_login", "title", "branch", "body", "merged_at"]
_PEOPLE_ATTRIBUTES = ["issue_key", "assignee_account_id", "reporter_account_id", "deleted"]


class MemberMatchingStore:
    """One team's evidence reads and writes."""

    def __init__(self, team_id: str) -> None:
        if not team_id:
            raise ValueError("a team id is required for every data access")
        bind_tables()
        self.team_id = team_id

    def merged_pull_requests(
        self, since: datetime, until: datetime
    ) -> Iterator[tuple[str, str | None, tuple[str | None, ...]]]:
        """(pr_id, author_login, (title, branch, body)) of the PRs merged in [since, until)."""
        condition = PullRequestItem.merged_at.between(since.isoformat(), until.isoformat())
        for item in PullRequestItem.by_merged_at.query(
            self.team_id, range_key_condition=condition, attributes_to_get=_PR_ATTRIBUTES
        ):
            if item.merged_at and item.merged_at >= until.isoformat():
                continue  # BETWEEN is inclusive at both ends; the window is half-open
            yield item.pr_id, item.author_login, (item.title, item.branch, item.body)

    def issue_people(self, keys: Iterable[str]) -> dict[str, IssuePeople]:
        """Assignee and reporter of the stored, not deleted, issues among `keys` (unknown ones left out)."""
        wanted = sorted(set(keys))
        out: dict[str, IssuePeople] = {}
        if not wanted:
            return out
        for item in JiraIssueItem.batch_get(
            [(self.team_id, key) for key in wanted], attributes_to_get=_PEOPLE_ATTRIBUTES
        ):
            if not item.deleted:
                out[item.issue_key] = IssuePeople(item.assignee_account_id, item.reporter_account_id)
        return out

    def save_member_evidence(self, member_id: str, evidence: dict[str, Any] | None) -> None:
        """Keep what the member's work says (shown by the members view); never creates a member."""
        action = (
            TeamMemberItem.match_evidence.set(evidence)
            if evidence is not None
            else TeamMemberItem.match_evidence.remove()
        )
        TeamMemberItem(self.team_id, member_id).update(
            actions=[action], condition=TeamMemberItem.member_id.exists()
        )

    def member_exists(self, member_id: str) -> bool:
        try:
            TeamMemberItem.get(self.team_id, member_id, attributes_to_get=["member_id"])
        except DoesNotExist:
            return False
        return True

    def set_manual_match(self, member_id: str, account_id: str | None) -> bool:
        """A person's decision: this account, or none ("not in Jira"). Kept by every later sync
        (set_member_match never overwrites "manual"). False when the member does not exist."""
        actions: list[Any] = [
            TeamMemberItem.match_method.set("manual"),
            TeamMemberItem.match_confidence.set(1.0),
            TeamMemberItem.matched_at.set(utcnow()),
            TeamMemberItem.jira_account_id.set(account_id)
            if account_id
            else TeamMemberItem.jira_account_id.remove(),
        ]
        return self._update_existing(member_id, actions)

    def clear_match(self, member_id: str) -> bool:
        """Forget the member's match, by hand or not: the next matching decides afresh."""
        actions: list[Any] = [
            TeamMemberItem.jira_account_id.remove(),
            TeamMemberItem.match_method.remove(),
            TeamMemberItem.match_confidence.remove(),
            TeamMemberItem.matched_at.set(utcnow()),
        ]
        return self._update_existing(member_id, actions)

    def _update_existing(self, member_id: str, actions: list[Any]) -> bool:
        try:
            TeamMemberItem(self.team_id, member_id).update(
                actions=actions, condition=TeamMemberItem.member_id.exists()
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False  # no such member
            raise
        return True
