"""Atlassian's personal data reporting API, and one account read back from the site.

`POST {ATLASSIAN_API_URL}/app/report-accounts/` with up to 90 `{accountId, updatedAt}` a call
(Atlassian's user privacy guide for app developers). The answer: 204 when none of them needs
anything, else 200 `{"accounts": [{"accountId", "status": "closed" | "updated"}]}`; 429 carries
Retry-After. Authentication is an OAuth 2.0 (3LO) access token (the guide says only "OAuth 2.0
authorization code grants"; Atlassian's developer community answer is that any of the app's
bearer tokens works): the team's own access token, through the team's gateway client, so the
refresh on a 401, the scrubbing and the site budget are the ones every Jira call has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from jira_onboarding.errors import JiraMalformedResponseError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.settings import get_settings

REPORT_PATH = "/app/report-accounts/"
MAX_ACCOUNTS_PER_REPORT = 90  # the API's documented maximum per request


class ReportedAccount(BaseModel):
    account_id: str = Field(alias="accountId")
    updated_at: datetime = Field(alias="updatedAt")

    def payload(self) -> dict[str, str]:
        stamp = self.updated_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"accountId": self.account_id, "updatedAt": stamp}


class AccountStatus(BaseModel):
    account_id: str = Field(alias="accountId")
    status: Literal["closed", "updated"]


class _ReportAnswer(BaseModel):
    accounts: list[dict] = Field(default_factory=list)


def report_url() -> str:
    return get_settings().atlassian_api_url.rstrip("/") + REPORT_PATH


def report_accounts(client: JiraClient, accounts: list[ReportedAccount]) -> list[AccountStatus]:
    """Report `accounts` (1 to 90); returns those Atlassian says are closed or updated."""
    if not 1 <= len(accounts) <= MAX_ACCOUNTS_PER_REPORT:
        raise ValueError(f"a report holds 1 to {MAX_ACCOUNTS_PER_REPORT} accounts, not {len(accounts)}")
    # A POST, but a query: safe to repeat, so it gets the idempotent retries.
    body = client.request(
        "POST",
        report_url(),
        what="the personal data report",
        json_body={"accounts": [a.payload() for a in accounts]},
    )
    if body is None:
        return []  # 204: nothing to do
    try:
        answer = _ReportAnswer.model_validate(body)
    except ValidationError as exc:
        raise JiraMalformedResponseError("Atlassian's personal data answer had no account list.") from exc
    statuses: list[AccountStatus] = []
    for entry in answer.accounts:
        try:
            statuses.append(AccountStatus.model_validate(entry))
        except ValidationError:
            continue  # a status this code does not know: nothing it could do about it
    return statuses


def fetch_user(client: JiraClient, account_id: str) -> JiraUser | None:
    """The account as the site shows it now (`GET /rest/api/3/user?accountId=`)."""
    body = client.request("GET", "/rest/api/3/user", what="a Jira user", params={"accountId": account_id})
    return JiraUser.from_payload(body) if isinstance(body, dict) else None
