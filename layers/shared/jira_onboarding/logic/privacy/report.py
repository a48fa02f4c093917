"""Report one team's stored Jira accounts to Atlassian, 90 at a time, and act on the answer.

A cycle reports every account the team holds (erased ones hold nothing and are left out), once
per REPORT_INTERVAL: the cursor (the last account reported) is saved after each call, so a crash
or a requeue resumes after it. `closed` erases the account's personal data from every team that
holds it (logic/privacy/erase.py); `updated` refetches the account from the team's site and stores
what it says now. A 429 (or the site's budget holding the call) hands the wait back to the caller,
which requeues the team with a delay instead of sleeping in the Lambda.

Only OAuth connections report: an API-token connection is not an Atlassian app (self-hosted or
local use), and the reporting API takes an app's OAuth token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jira_onboarding.budget import Priority
from jira_onboarding.dal.privacy import PrivacyStore, ReportState
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraAuthError, JiraError, JiraThrottledError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.logic.jira_access.accounts import (
    MAX_ACCOUNTS_PER_REPORT,
    AccountStatus,
    ReportedAccount,
    fetch_user,
    report_accounts,
)
from jira_onboarding.logic.jira_access.gateway import open_jira
from jira_onboarding.logic.privacy.erase import erase_closed_account
from jira_onboarding.observability import logger

# Atlassian's cycle (the Cycle-Period it answers by default): every account at least this often.
REPORT_INTERVAL = timedelta(days=7)
# The schedule runs daily at one time: a team reported 7 days ago minus a little is due today, so
# delivery delays never stretch its cycle to 8 days.
DUE_MARGIN = timedelta(hours=3)
REPORTING_AUTH_KINDS = frozenset({"oauth", "bearer"})
TIME_RESERVE_S = 15.0  # a call, its answer's erasures and the cursor's write fit in this


@dataclass
class TeamReport:
    # reported | continued | throttled | credentials refused | not due | not an OAuth connection
    # | not connected
    outcome: str
    reported: int = 0
    erased: int = 0
    refreshed: int = 0
    retry_after: float | None = None


def is_due(state: ReportState, now: datetime) -> bool:
    if state.cycle_started_at is not None:
        return True  # a cycle under way resumes
    return state.reported_at is None or now - state.reported_at >= REPORT_INTERVAL - DUE_MARGIN


def apply_statuses(
    client: JiraClient, store: PrivacyStore, statuses: list[AccountStatus], result: TeamReport
) -> None:
    """Erase the closed accounts everywhere; refetch the updated ones from this team's site."""
    for status in statuses:
        if status.status == "closed":
            result.erased += erase_closed_account(status.account_id)
            continue
        try:
            user = fetch_user(client, status.account_id)
        except JiraThrottledError:
            raise
        except JiraError as exc:  # gone from the site, or hidden now: the next users sync decides
            logger.warning("Updated Jira account not refetched", extra={"error": exc.__class__.__name__})
            continue
        if user is not None and store.save_refetched(user):
            result.refreshed += 1


def _report_cycle(
    client: JiraClient,
    store: PrivacyStore,
    state: ReportState,
    result: TeamReport,
    time_left_s: Callable[[], float],
    now: datetime,
) -> None:
    cursor = state.cursor
    while time_left_s() >= TIME_RESERVE_S:
        accounts = store.accounts_after(cursor, MAX_ACCOUNTS_PER_REPORT)
        if not accounts:
            store.finish_cycle(now)
            result.outcome = "reported"
            return
        try:
            statuses = report_accounts(
                client, [ReportedAccount(accountId=a.account_id, updatedAt=a.updated_at) for a in accounts]
            )
            apply_statuses(client, store, statuses, result)
        except JiraThrottledError as exc:
            if exc.retry_after is None:
                raise
            result.outcome, result.retry_after = "throttled", exc.retry_after
            return
        result.reported += len(accounts)
        cursor = accounts[-1].account_id
        store.advance(cursor)
    result.outcome = "continued"


def report_team(team_id: str, *, time_left_s: Callable[[], float], now: datetime | None = None) -> TeamReport:
    """One team's report, as far as the time allows (outcome `continued`: requeue it)."""
    now = now or datetime.now(UTC)
    store = PrivacyStore(team_id)
    state = store.state()
    if state is None:
        return TeamReport("not connected")
    if state.auth_kind not in REPORTING_AUTH_KINDS:
        logger.info(
            "Personal data report skipped: not an OAuth connection", extra={"auth_kind": state.auth_kind}
        )
        return TeamReport("not an OAuth connection")
    if not is_due(state, now):
        return TeamReport("not due")
    if state.cycle_started_at is None:
        store.begin_cycle(now)
    result = TeamReport("continued")
    try:
        client = open_jira(team_id, TeamStores(team_id), time_left_s=time_left_s, priority=Priority.REFRESH)
        try:
            _report_cycle(client, store, state, result, time_left_s, now)
        finally:
            client.close()
    except JiraAuthError as exc:
        # A revoked grant (reconnect): retried daily while the cycle stays open, never dead-lettered.
        logger.warning("Personal data report refused: the team's OAuth grant", extra={"why": str(exc)})
        result.outcome = "credentials refused"
    return result
