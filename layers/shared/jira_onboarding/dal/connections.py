"""The team's Jira connection: the site, its secret's name, the field map, the OAuth refresh lease."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from jira_onboarding.dal.items import as_dict, is_conditional_failure, require_team
from jira_onboarding.dal.tables import JiraConnectionItem, bind_tables, utcnow
from jira_onboarding.records import JiraConnection


class ConnectionStore:
    """One team's Jira connection (one item)."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def get(self) -> JiraConnection | None:
        try:
            return JiraConnection.model_validate(as_dict(JiraConnectionItem.get(self.team_id)))
        except DoesNotExist:
            return None

    def save(self, site_url: str, auth_kind: str, secret_name: str) -> JiraConnection:
        item = JiraConnectionItem(
            self.team_id, site_url=site_url, auth_kind=auth_kind, secret_name=secret_name
        )
        item.save()
        return JiraConnection.model_validate(as_dict(item))

    def save_field_map(self, field_map: dict[str, Any]) -> None:
        JiraConnectionItem(self.team_id).update(actions=[JiraConnectionItem.field_map.set(field_map)])

    def mark_users_synced(self, members_digest: str) -> None:
        """The site's users were fetched now, for members whose names hash to `members_digest`."""
        JiraConnectionItem(self.team_id).update(
            actions=[
                JiraConnectionItem.users_synced_at.set(utcnow()),
                JiraConnectionItem.users_members_digest.set(members_digest),
            ],
            condition=JiraConnectionItem.team_id.exists(),
        )

    def acquire_refresh_lease(self, owner: str, now: float, ttl_s: float) -> bool:
        """Take the OAuth refresh lease unless another live holder has it (a conditional write)."""
        condition = JiraConnectionItem.refresh_lease_until.does_not_exist() | (
            JiraConnectionItem.refresh_lease_until < now
        )
        try:
            JiraConnectionItem(self.team_id).update(
                actions=[
                    JiraConnectionItem.refresh_lease_owner.set(owner),
                    JiraConnectionItem.refresh_lease_until.set(now + ttl_s),
                ],
                condition=JiraConnectionItem.team_id.exists() & condition,
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def release_refresh_lease(self, owner: str, *, rotated: bool) -> None:
        actions: list[Action] = [
            JiraConnectionItem.refresh_lease_owner.remove(),
            JiraConnectionItem.refresh_lease_until.remove(),
        ]
        if rotated:
            actions.append(JiraConnectionItem.token_version.add(1))
        try:
            JiraConnectionItem(self.team_id).update(
                actions=actions, condition=JiraConnectionItem.refresh_lease_owner == owner
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
