"""Connect Jira as a customer does, in headless Chromium: the page's Connect Jira button, the
simulator's consent page (Atlassian's), back to the page, the site chosen among the two the grant
covers, the projects, a sync; then Atlassian revokes the grant and the page says Reconnect Jira,
and reconnecting brings the projects back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import SCREENSHOTS, Served
from tests.conftest import SIM_EMAIL, SIM_TOKEN

pytestmark = pytest.mark.browser

TEAM = "team-i"  # connected ahead by the server; disconnected first here
SYNC_TIMEOUT_MS = 90_000


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, key: str) -> Any:
    return page.locator(f'li[data-project="{key}"]')


def _through_consent(page: Any, site_name: str) -> None:
    """Atlassian's consent page (the simulator's): Accept; back on ours, choose the site."""
    page.get_by_role("button", name="Connect Jira").or_(
        page.get_by_role("button", name="Reconnect Jira")
    ).click()
    page.wait_for_url("**/authorize?**")
    page.locator("#accept").click()
    page.wait_for_url(lambda url: "/authorize" not in url)
    _expect()(page.get_by_role("radiogroup", name="Choose your Jira site")).to_be_visible()
    page.get_by_role("button", name=site_name).click()
    _expect()(_row(page, "ALPHA")).to_be_visible()


def _sync(page: Any, key: str, status: str) -> None:
    _row(page, key).get_by_role("checkbox").check()
    page.get_by_role("button", name="Start sync").click()
    _expect()(_row(page, key)).to_have_attribute("data-status", status, timeout=SYNC_TIMEOUT_MS)


def test_connect_choose_site_sync_then_reconnect_after_atlassian_revokes_the_grant(
    page: Any, served: Served
) -> None:
    token = served.tokens[TEAM]
    gone = httpx.delete(f"{served.base_url}/jira/connection", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 200, gone.text

    page.goto(served.page_url(TEAM))
    _expect()(page.get_by_role("button", name="Connect Jira")).to_be_visible()
    assert page.get_by_role("button", name="Start sync").is_hidden(), "no project list before a connection"
    _through_consent(page, "acme-sim")
    assert "jira_oauth" not in page.url, "the outcome word leaves the address bar"
    _sync(page, "ALPHA", "COMPLETE")

    revoked = httpx.post(
        f"{served.jira_url}/_sim/control/oauth/revoke", json={"latest": True}, auth=(SIM_EMAIL, SIM_TOKEN)
    )
    assert revoked.status_code == 200 and len(revoked.json()["revoked"]) == 1, revoked.text
    # The next call to Jira finds out: this sync (its project FAILED, "press Reconnect Jira"), or a
    # background one first (the live webhook's registration), and then the start is refused saying so.
    _row(page, "BETA").get_by_role("checkbox").check()
    page.get_by_role("button", name="Start sync").click()
    told = _row(page, "BETA").locator(".reason", has_text="Reconnect Jira")
    refused = page.locator("p.error", has_text="Reconnect Jira")
    _expect()(told.or_(refused)).to_be_visible(timeout=SYNC_TIMEOUT_MS)

    page.reload()
    _expect()(page.get_by_role("button", name="Reconnect Jira")).to_be_visible()
    _expect()(page.locator(".connect")).to_contain_text("Your synced data is kept")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reconnect-jira.png"), full_page=True)
    _through_consent(page, "acme-sim")
    _expect()(_row(page, "ALPHA")).to_be_visible()


def test_a_declined_consent_says_so_and_keeps_the_button(page: Any, served: Served) -> None:
    team = "team-j"
    token = served.tokens[team]
    httpx.delete(f"{served.base_url}/jira/connection", headers={"Authorization": f"Bearer {token}"})
    page.goto(served.page_url(team))
    page.get_by_role("button", name="Connect Jira").click()
    page.wait_for_url("**/authorize?**")
    page.locator("#deny").click()
    _expect()(page.locator(".connect .error")).to_contain_text("not granted")
    _expect()(page.get_by_role("button", name="Connect Jira")).to_be_visible()
