"""Personal data held about Jira accounts: each team's report progress (on its connection item)
and the erasure of a closed account from every table that holds its personal data.

Where a Jira account's personal data lives: the JiraUsers item (display name, email address) and
the onboarding runs' users summaries (`unmatched_jira_user_names`). Everything else keeps the
account id only (issues' assignee and reporter, members' matches and their evidence), which may
stay as an opaque key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from jira_onboarding.dal.items import is_conditional_failure, require_team
from jira_onboarding.dal.tables import (
    JiraConnectionItem,
    JiraUserItem,
    OnboardingRunItem,
    bind_tables,
    utcnow,
)
from jira_onboarding.jira.models import JiraUser


@dataclass(frozen=True, slots=True)
class ReportState:
    """One team's personal data report: the connection's kind and where its cycle stands."""

    team_id: str
    auth_kind: str
    reported_at: datetime | None = None
    cycle_started_at: datetime | None = None
    cursor: str | None = None  # the last account id reported in the cycle under way


@dataclass(frozen=True, slots=True)
class StoredAccount:
    account_id: str
    updated_at: datetime  # when its personal data was last written here


_STATE_ATTRIBUTES = [
    "team_id",
    "auth_kind",
    "privacy_reported_at",
    "privacy_cycle_started_at",
    "privacy_cursor",
]


def _state(item: JiraConnectionItem) -> ReportState:
    return ReportState(
        team_id=item.team_id,
        auth_kind=item.auth_kind,
        reported_at=item.privacy_reported_at,
        cycle_started_at=item.privacy_cycle_started_at,
        cursor=item.privacy_cursor,
    )


def report_states_page(
    cursor: dict[str, Any] | None, limit: int
) -> tuple[list[ReportState], dict[str, Any] | None]:
    """One page of the connected teams' report states (a paged Scan resuming from `cursor`)."""
    bind_tables()
    result = JiraConnectionItem.scan(
        limit=limit, last_evaluated_key=cursor, attributes_to_get=_STATE_ATTRIBUTES
    )
    states = [_state(item) for item in result]
    return states, result.last_evaluated_key


def teams_holding(account_id: str) -> list[str]:
    """Every team whose JiraUsers table holds the account (the ByAccountId index)."""
    bind_tables()
    return sorted({item.team_id for item in JiraUserItem.by_account.query(account_id)})


class PrivacyStore:
    """One team's personal data bookkeeping."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def state(self) -> ReportState | None:
        try:
            return _state(JiraConnectionItem.get(self.team_id, attributes_to_get=_STATE_ATTRIBUTES))
        except DoesNotExist:
            return None

    def begin_cycle(self, at: datetime) -> None:
        self._update_connection([JiraConnectionItem.privacy_cycle_started_at.set(at)])

    def advance(self, cursor: str) -> None:
        """The accounts up to `cursor` are reported: a crash resumes after it."""
        self._update_connection([JiraConnectionItem.privacy_cursor.set(cursor)])

    def finish_cycle(self, at: datetime) -> None:
        self._update_connection(
            [
                JiraConnectionItem.privacy_reported_at.set(at),
                JiraConnectionItem.privacy_cycle_started_at.remove(),
                JiraConnectionItem.privacy_cursor.remove(),
            ]
        )

    def _update_connection(self, actions: list[Any]) -> None:
        try:
            JiraConnectionItem(self.team_id).update(
                actions=actions, condition=JiraConnectionItem.team_id.exists()
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise  # disconnected meanwhile: nothing to record

    def accounts_after(self, cursor: str | None, limit: int) -> list[StoredAccount]:
        """Up to `limit` stored accounts after `cursor` in key order, erased ones left out (they
        hold no personal data any more)."""
        found: list[StoredAccount] = []
        last = cursor
        while len(found) < limit:
            items = list(
                JiraUserItem.query(
                    self.team_id,
                    JiraUserItem.account_id > last if last else None,
                    limit=limit,
                    attributes_to_get=["account_id", "synced_at", "erased_at"],
                )
            )
            for item in items:
                last = item.account_id
                if item.erased_at is None:
                    found.append(StoredAccount(item.account_id, item.synced_at))
                    if len(found) == limit:
                        break
            if len(items) < limit:
                break
        return found

    def erase_account(self, account_id: str, *, at: datetime | None = None) -> bool:
        """Erase the account's personal data from this team's tables; the account id stays, marked
        erased so that no later sync stores its data again. False if the team holds no such
        account or it was already erased."""
        try:
            item = JiraUserItem.get(self.team_id, account_id)
        except DoesNotExist:
            return False
        if item.erased_at is not None:
            return False
        name = item.display_name
        item.update(
            actions=[
                JiraUserItem.display_name.set(""),
                JiraUserItem.email_address.remove(),
                JiraUserItem.active.set(False),
                JiraUserItem.erased_at.set(at or utcnow()),
            ]
        )
        if name:
            self._scrub_run_summaries(name)
        return True

    def forget_accounts(self) -> int:
        """Delete every Jira account the team holds and the runs' lists of their names (a
        disconnect that asks for it): unlike an erasure, a new connection fetches them again."""
        keys = [
            item.account_id for item in JiraUserItem.query(self.team_id, attributes_to_get=["account_id"])
        ]
        with JiraUserItem.batch_write() as batch:
            for account_id in keys:
                batch.delete(JiraUserItem(self.team_id, account_id))
        for run in OnboardingRunItem.query(self.team_id, attributes_to_get=["run_id", "users_summary"]):
            if (run.users_summary or {}).get("unmatched_jira_user_names"):
                OnboardingRunItem(self.team_id, run.run_id).update(
                    actions=[
                        OnboardingRunItem.users_summary.set(
                            {**run.users_summary, "unmatched_jira_user_names": []}
                        )
                    ]
                )
        return len(keys)

    def _scrub_run_summaries(self, name: str) -> None:
        """The runs' lists of unmatched users' names lose one occurrence of `name` each."""
        for run in OnboardingRunItem.query(self.team_id, attributes_to_get=["run_id", "users_summary"]):
            summary = run.users_summary
            names = (summary or {}).get("unmatched_jira_user_names")
            if not isinstance(names, list) or name not in names:
                continue
            names.remove(name)
            OnboardingRunItem(self.team_id, run.run_id).update(
                actions=[OnboardingRunItem.users_summary.set({**summary, "unmatched_jira_user_names": names})]
            )

    def save_refetched(self, user: JiraUser) -> bool:
        """Store the account's current data from Jira, unless it was erased meanwhile."""
        try:
            JiraUserItem(self.team_id, user.account_id).update(
                actions=[
                    JiraUserItem.account_type.set(user.account_type),
                    JiraUserItem.display_name.set(user.display_name),
                    JiraUserItem.email_address.set(user.email_address)
                    if user.email_address
                    else JiraUserItem.email_address.remove(),
                    JiraUserItem.active.set(user.active),
                    JiraUserItem.synced_at.set(utcnow()),
                ],
                condition=JiraUserItem.erased_at.does_not_exist(),
            )
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
