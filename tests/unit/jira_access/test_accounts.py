"""The personal data reporting call: its body, its answers (204, 200, an unknown status, a bad
body) and its refusals (more than 90 accounts, a long 429), on an in-process transport."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from jira_onboarding.errors import JiraMalformedResponseError, JiraThrottledError
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.logic.jira_access.accounts import (
    MAX_ACCOUNTS_PER_REPORT,
    ReportedAccount,
    fetch_user,
    report_accounts,
)
from jira_onboarding.settings import get_settings

WHEN = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def _client(answer: httpx.Response, seen: list[httpx.Request]) -> JiraClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    http = httpx.Client(
        base_url="https://acme.atlassian.net",
        headers={"Authorization": "Bearer at-1"},
        transport=httpx.MockTransport(handler),
    )
    return JiraClient(http, sleep=lambda _s: None, max_inline_wait_s=5.0)


def _accounts(n: int) -> list[ReportedAccount]:
    return [ReportedAccount(accountId=f"acc-{i:03d}", updatedAt=WHEN) for i in range(n)]


@pytest.fixture(autouse=True)
def _atlassian_api(monkeypatch: pytest.MonkeyPatch, dynamodb_tables: None):
    monkeypatch.setenv("ATLASSIAN_API_URL", "https://api.example.test/")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_report_accounts_posts_the_documented_body_to_the_atlassian_api():
    seen: list[httpx.Request] = []
    client = _client(httpx.Response(204), seen)

    assert report_accounts(client, _accounts(2)) == []

    (request,) = seen
    assert str(request.url) == "https://api.example.test/app/report-accounts/"
    assert request.method == "POST" and request.headers["Authorization"] == "Bearer at-1"
    assert json.loads(request.content) == {
        "accounts": [
            {"accountId": "acc-000", "updatedAt": "2026-11-01T09:30:00.000Z"},
            {"accountId": "acc-001", "updatedAt": "2026-11-01T09:30:00.000Z"},
        ]
    }


def test_reported_account_dates_are_sent_in_utc():
    local = datetime(2026, 11, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    assert (
        ReportedAccount(accountId="a", updatedAt=local).payload()["updatedAt"] == "2026-11-01T09:30:00.000Z"
    )


def test_report_accounts_returns_the_closed_and_updated_accounts_and_skips_unknown_statuses():
    body = {
        "accounts": [
            {"accountId": "acc-000", "status": "closed"},
            {"accountId": "acc-001", "status": "updated"},
            {"accountId": "acc-002", "status": "something-new"},
        ]
    }
    statuses = report_accounts(_client(httpx.Response(200, json=body), []), _accounts(3))
    assert [(s.account_id, s.status) for s in statuses] == [("acc-000", "closed"), ("acc-001", "updated")]


def test_report_accounts_refuses_an_answer_without_an_account_list():
    with pytest.raises(JiraMalformedResponseError):
        report_accounts(_client(httpx.Response(200, json={"accounts": "no"}), []), _accounts(1))


@pytest.mark.parametrize("count", [0, MAX_ACCOUNTS_PER_REPORT + 1])
def test_report_accounts_takes_1_to_90_accounts(count: int):
    seen: list[httpx.Request] = []
    with pytest.raises(ValueError, match="1 to 90"):
        report_accounts(_client(httpx.Response(204), seen), _accounts(count))
    assert seen == []


def test_report_accounts_hands_a_long_retry_after_to_the_caller():
    seen: list[httpx.Request] = []
    client = _client(httpx.Response(429, headers={"Retry-After": "120"}), seen)
    with pytest.raises(JiraThrottledError) as caught:
        report_accounts(client, _accounts(90))
    assert caught.value.retry_after == 120
    assert len(seen) == 1  # not retried inside the Lambda


def test_fetch_user_reads_one_account_from_the_site():
    seen: list[httpx.Request] = []
    answer = httpx.Response(
        200, json={"accountId": "acc-1", "displayName": "Ada", "emailAddress": "a@x.test"}
    )
    user = fetch_user(_client(answer, seen), "acc-1")
    assert user is not None and (user.display_name, user.email_address) == ("Ada", "a@x.test")
    assert seen[0].url.path == "/rest/api/3/user" and seen[0].url.params["accountId"] == "acc-1"
