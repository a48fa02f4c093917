"""The team's Jira connection: the site, its credentials envelope, the field map, the OAuth refresh lease."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
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

    def save(
        self, site_url: str, auth_kind: str, *, credentials_envelope: str, site: dict[str, Any] | None = None
    ) -> JiraConnection:
        """The whole item, replaced (a reconnect clears `reconnect_reason`). `site`: for OAuth, the
        chosen site's cloud_id, site_web_url, site_name and granted_scopes."""
        item = JiraConnectionItem(
            self.team_id,
            site_url=site_url,
            auth_kind=auth_kind,
            credentials_envelope=credentials_envelope,
            **(site or {}),
        )
        item.save()
        return JiraConnection.model_validate(as_dict(item))

    def mark_reconnect_needed(self, reason: str) -> bool:
        """Atlassian refused the grant for good: record why (once; False if already recorded or
        the connection is gone)."""
        try:
            JiraConnectionItem(self.team_id).update(
                actions=[
                    JiraConnectionItem.reconnect_reason.set(reason[:300]),
                    JiraConnectionItem.reconnect_needed_at.set(utcnow()),
                ],
                condition=JiraConnectionItem.team_id.exists()
                & JiraConnectionItem.reconnect_reason.does_not_exist(),
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def delete(self) -> bool:
        """Forget the connection: the site, the credentials envelope, the field map, the lease.
        False if there was none. The team's synced data lives in other tables and stays."""
        try:
            JiraConnectionItem(self.team_id).delete(condition=JiraConnectionItem.team_id.exists())
        except DeleteError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def read_credentials(self) -> tuple[str | None, str | None]:
        """(envelope, legacy secret name) of the team's connection, read consistently: the OAuth
        tokens may have been rotated by another Lambda a moment ago."""
        try:
            item = JiraConnectionItem.get(
                self.team_id, consistent_read=True, attributes_to_get=["credentials_envelope", "secret_name"]
            )
        except DoesNotExist:
            return None, None
        return item.credentials_envelope, item.secret_name

    def reconnect_reason(self) -> str | None:
        """Why the team must reconnect (None: it need not), read consistently."""
        try:
            item = JiraConnectionItem.get(
                self.team_id, consistent_read=True, attributes_to_get=["reconnect_reason"]
            )
        except DoesNotExist:
            return None
        return item.reconnect_reason

    def record_listed_projects(
        self, keys: list[str], *, first_page: bool, last_page: bool, now: float
    ) -> None:
        """A page of the site's project list: the first starts a new listing, the last completes it."""
        if first_page:
            actions: list[Action] = [
                # (an empty set is not a DynamoDB value: a site without projects lists none)
                JiraConnectionItem.listed_projects.set(set(keys))
                if keys
                else JiraConnectionItem.listed_projects.remove(),
                JiraConnectionItem.listed_at.set(now),
                JiraConnectionItem.listed_complete.set(last_page),
            ]
        else:
            actions = [JiraConnectionItem.listed_complete.set(last_page)]
            if keys:
                actions.append(JiraConnectionItem.listed_projects.add(set(keys)))
        try:
            JiraConnectionItem(self.team_id).update(
                actions=actions, condition=JiraConnectionItem.team_id.exists()
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise

    def listed_projects(self, now: float, max_age_s: float) -> set[str] | None:
        """The site's project keys from a complete listing younger than `max_age_s`; else None."""
        try:
            item = JiraConnectionItem.get(
                self.team_id, attributes_to_get=["listed_projects", "listed_at", "listed_complete"]
            )
        except DoesNotExist:
            return None
        if not item.listed_complete or item.listed_at is None or now - float(item.listed_at) > max_age_s:
            return None
        return set(item.listed_projects or ())

    def replace_credentials(self, envelope: str, *, lease_owner: str) -> bool:
        """Store rotated credentials, only while `lease_owner` still holds the refresh lease."""
        return self._set_envelope(envelope, JiraConnectionItem.refresh_lease_owner == lease_owner)

    def swap_credentials(self, previous: str, envelope: str) -> bool:
        """Store a new envelope in place of `previous` (False if it changed meanwhile, e.g. the
        connection was registered again)."""
        return self._set_envelope(envelope, JiraConnectionItem.credentials_envelope == previous)

    def _set_envelope(self, envelope: str, condition: Any) -> bool:
        try:
            JiraConnectionItem(self.team_id).update(
                actions=[JiraConnectionItem.credentials_envelope.set(envelope)], condition=condition
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def migrate_credentials(self, envelope: str | None, *, secret_name: str) -> bool:
        """Move a connection off its Secrets Manager secret: store the envelope (None: keep the one
        stored since, by a token rotation) and forget the secret's name, unless the connection was
        registered again meanwhile."""
        actions: list[Action] = [JiraConnectionItem.secret_name.remove()]
        condition = JiraConnectionItem.secret_name == secret_name
        if envelope is not None:
            actions.append(JiraConnectionItem.credentials_envelope.set(envelope))
            # never over tokens a rotation stored meanwhile: they are newer than the secret's
            condition &= JiraConnectionItem.credentials_envelope.does_not_exist()
        try:
            JiraConnectionItem(self.team_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

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


def connections_page(cursor: dict[str, Any] | None, limit: int) -> tuple[list[str], dict[str, Any] | None]:
    """One page of the teams with a Jira connection, for the one-off migration only (a paged Scan
    that resumes from `cursor`): (team ids, the next cursor or None at the end)."""
    bind_tables()
    result = JiraConnectionItem.scan(limit=limit, last_evaluated_key=cursor, attributes_to_get=["team_id"])
    teams = [item.team_id for item in result]
    return teams, result.last_evaluated_key
