"""A closed Jira account: its personal data leaves every team that holds it."""

from __future__ import annotations

from jira_onboarding.dal.privacy import PrivacyStore, teams_holding
from jira_onboarding.observability import logger


def erase_closed_account(account_id: str) -> int:
    """Erase the account's personal data from every team's tables (the ByAccountId index finds
    them; the account id stays, marked erased). Returns how many teams' copies were erased."""
    erased = 0
    for team_id in teams_holding(account_id):
        if PrivacyStore(team_id).erase_account(account_id):
            erased += 1
    logger.info("Closed Jira account erased", extra={"account_id": account_id, "teams": erased})
    return erased
