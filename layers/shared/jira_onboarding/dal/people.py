"""A team's people: its members (who they are, their Jira match, what their work says about it)
and the Jira site's users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from jira_onboarding.dal.items import as_dict, is_conditional_failure, require_team
from jira_onboarding.dal.tables import JiraUserItem, TeamMemberItem, bind_tables, utcnow
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.records import TeamMember


class PeopleStore:
    """One team's members and Jira users."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def list_members(self) -> list[TeamMember]:
        return [TeamMember.model_validate(as_dict(i)) for i in TeamMemberItem.query(self.team_id)]

    def save_member(self, member: TeamMember) -> None:
        TeamMemberItem(
            self.team_id,
            member.member_id,
            github_login=member.github_login,
            display_name=member.display_name,
            emails=set(member.emails) or None,
            jira_account_id=member.jira_account_id,
            match_method=member.match_method,
            match_confidence=member.match_confidence,
        ).save()

    def set_member_match(
        self, member_id: str, account_id: str | None, method: str | None, confidence: float | None
    ) -> bool:
        """Apply an automatic match; never overwrites a match a person set by hand."""
        actions: list[Action] = [
            TeamMemberItem.jira_account_id.set(account_id)
            if account_id
            else TeamMemberItem.jira_account_id.remove(),
            TeamMemberItem.match_method.set(method) if method else TeamMemberItem.match_method.remove(),
            TeamMemberItem.match_confidence.set(confidence)
            if confidence is not None
            else TeamMemberItem.match_confidence.remove(),
            TeamMemberItem.matched_at.set(utcnow()),
        ]
        condition = TeamMemberItem.member_id.exists() & (
            TeamMemberItem.match_method.does_not_exist() | (TeamMemberItem.match_method != "manual")
        )
        try:
            TeamMemberItem(self.team_id, member_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def get_member(self, member_id: str) -> TeamMember | None:
        try:
            return TeamMember.model_validate(as_dict(TeamMemberItem.get(self.team_id, member_id)))
        except DoesNotExist:
            return None

    def set_manual_match(self, member_id: str, account_id: str | None) -> bool:
        """A person's decision: this account, or none ("not in Jira"). Kept by every later sync
        (set_member_match never overwrites "manual"). False when there is no such member."""
        return self._update_member(
            member_id,
            [
                TeamMemberItem.match_method.set("manual"),
                TeamMemberItem.match_confidence.set(1.0),
                TeamMemberItem.matched_at.set(utcnow()),
                TeamMemberItem.jira_account_id.set(account_id)
                if account_id
                else TeamMemberItem.jira_account_id.remove(),
            ],
        )

    def clear_match(self, member_id: str) -> bool:
        """Forget the member's match, by hand or not: the next matching decides afresh."""
        return self._update_member(
            member_id,
            [
                TeamMemberItem.jira_account_id.remove(),
                TeamMemberItem.match_method.remove(),
                TeamMemberItem.match_confidence.remove(),
                TeamMemberItem.matched_at.set(utcnow()),
            ],
        )

    def save_match_evidence(self, member_id: str, evidence: dict[str, Any] | None) -> bool:
        """What the member's pull requests say about their account (the members view shows it)."""
        action = (
            TeamMemberItem.match_evidence.set(evidence)
            if evidence is not None
            else TeamMemberItem.match_evidence.remove()
        )
        return self._update_member(member_id, [action])

    def _update_member(self, member_id: str, actions: list[Action]) -> bool:
        try:
            TeamMemberItem(self.team_id, member_id).update(
                actions=actions, condition=TeamMemberItem.member_id.exists()
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False  # no such member: updates never create one
            raise
        return True

    def save_jira_users(self, users: Iterable[JiraUser]) -> int:
        """Store the site's users; unchanged ones are not rewritten, and erased ones (a closed
        account: logic/privacy/) never again. Returns items written."""
        stored: dict[str, tuple | None] = {
            item.account_id: None
            if item.erased_at is not None
            else (item.account_type, item.display_name, item.email_address, item.active)
            for item in JiraUserItem.query(self.team_id)
        }
        count = 0
        now = utcnow()
        with JiraUserItem.batch_write() as batch:
            for user in users:
                values = (user.account_type, user.display_name, user.email_address, user.active)
                if user.account_id in stored and stored[user.account_id] in (None, values):
                    continue
                batch.save(
                    JiraUserItem(
                        self.team_id,
                        user.account_id,
                        account_type=user.account_type,
                        display_name=user.display_name,
                        email_address=user.email_address,
                        active=user.active,
                        synced_at=now,
                    )
                )
                count += 1
        return count

    def erased_account_ids(self) -> set[str]:
        """The accounts whose personal data was erased (closed accounts): never stored again."""
        return {
            item.account_id
            for item in JiraUserItem.query(
                self.team_id,
                filter_condition=JiraUserItem.erased_at.exists(),
                attributes_to_get=["account_id", "erased_at"],
            )
        }

    def list_jira_users(self) -> list[JiraUser]:
        return [
            JiraUser.model_validate(
                {
                    "accountId": i.account_id,
                    "accountType": i.account_type,
                    "displayName": i.display_name,
                    "emailAddress": i.email_address,
                    "active": i.active,
                }
            )
            for i in JiraUserItem.query(self.team_id)
        ]
