"""The simulator's personal data reporting API: the body it accepts, its answers, and a closed
account's profile as Atlassian shows it afterwards."""

from __future__ import annotations

import json

import pytest

from jira_simulator import JiraSimulator, build_workspace

BEARER = {"Authorization": "Bearer demo-oauth-token", "Content-Type": "application/json"}


def _report(
    sim: JiraSimulator, accounts: object, headers: dict[str, str] = BEARER
) -> tuple[int, dict, bytes]:
    return sim.handle("POST", "/app/report-accounts/", headers, json.dumps({"accounts": accounts}).encode())


@pytest.fixture
def sim() -> JiraSimulator:
    return JiraSimulator(build_workspace(seed=1))


def _account(account_id: str) -> dict[str, str]:
    return {"accountId": account_id, "updatedAt": "2026-11-01T09:30:00.000Z"}


def test_report_answers_204_when_nothing_changed(sim: JiraSimulator):
    status, _, body = _report(sim, [_account(sim.ws.users[3]["accountId"])])
    assert (status, body) == (204, b"")


def test_report_lists_closed_and_updated_accounts_and_an_updated_one_once(sim: JiraSimulator):
    closed, updated = sim.ws.users[3]["accountId"], sim.ws.users[4]["accountId"]
    sim.privacy.close_account(closed)
    sim.privacy.update_account(updated, displayName="Renamed")

    status, _, body = _report(sim, [_account(closed), _account(updated)])

    assert status == 200
    assert json.loads(body)["accounts"] == [
        {"accountId": closed, "status": "closed"},
        {"accountId": updated, "status": "updated"},
    ]
    again = json.loads(_report(sim, [_account(closed), _account(updated)])[2])
    assert again["accounts"] == [{"accountId": closed, "status": "closed"}]


def test_a_closed_account_shows_as_a_former_user_without_an_email(sim: JiraSimulator):
    user = sim.ws.users[3]
    sim.privacy.close_account(user["accountId"])
    status, _, body = sim.handle("GET", f"/rest/api/3/user?accountId={user['accountId']}", BEARER)
    profile = json.loads(body)
    assert status == 200
    assert (profile["displayName"], "emailAddress" in profile, profile["active"]) == (
        "Former user",
        False,
        False,
    )


@pytest.mark.parametrize(
    "accounts",
    [
        [],
        [{"accountId": f"a{i}", "updatedAt": "2026-11-01T00:00:00Z"} for i in range(91)],
        [{"accountId": "a"}],
        [{"accountId": "a", "updatedAt": "yesterday"}],
        [{"accountId": "", "updatedAt": "2026-11-01T00:00:00Z"}],
        "not a list",
    ],
)
def test_report_refuses_a_body_outside_the_contract(sim: JiraSimulator, accounts: object):
    assert _report(sim, accounts)[0] == 400


def test_report_takes_an_apps_oauth_token_only(sim: JiraSimulator):
    basic = {
        "Authorization": "Basic ZGVtb0BleGFtcGxlLmNvbTpkZW1vLXRva2Vu",
        "Content-Type": "application/json",
    }
    assert _report(sim, [_account("a")], basic)[0] == 401


def test_throttle_next_answers_one_report_429_with_its_retry_after(sim: JiraSimulator):
    sim.privacy.throttle_next(30)
    status, headers, _ = _report(sim, [_account("a")])
    assert (status, headers.get("Retry-After")) == (429, "30")
    assert _report(sim, [_account("a")])[0] == 204
