"""The Jira project selection page with its inline sync indicator, in headless Chromium."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.browser.conftest import FAILING_PROJECT, SCREENSHOTS, Served

pytestmark = pytest.mark.browser

SYNC_TIMEOUT_MS = 90_000


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, key: str) -> Any:
    return page.locator(f'li[data-project="{key}"]')


def _open(page: Any, served: Served, team: str) -> None:
    page.goto(served.page_url(team))
    _expect()(_row(page, "ALPHA")).to_be_visible()


def _start(page: Any, keys: list[str]) -> str:
    for key in keys:
        _row(page, key).get_by_role("checkbox").check()
    page.get_by_role("button", name="Start sync").click()
    for key in keys:
        _expect()(_row(page, key)).not_to_have_attribute("data-status", "UNSELECTED")
    return json.loads(page.evaluate("sessionStorage.getItem('jiraOnboarding.run')"))["run_id"]


def _wait_status(page: Any, key: str, status: str, timeout: int = SYNC_TIMEOUT_MS) -> None:
    _expect()(_row(page, key)).to_have_attribute("data-status", status, timeout=timeout)


def _progressbar(page: Any, key: str) -> Any:
    return _row(page, key).get_by_role("progressbar")


def _continue_is_clickable(page: Any) -> None:
    link = page.get_by_role("link", name="Continue")
    _expect()(link).to_be_visible()
    _expect()(link).to_be_enabled()
    assert link.get_attribute("href") == "/next.html"


def test_page_shows_each_selected_project_go_from_pending_through_syncing_to_complete(page, served):
    # Given the page opened from the printed link
    _open(page, served, "team-a")
    assert "token" not in page.url  # the token moved from the address bar to sessionStorage
    _continue_is_clickable(page)

    # When two projects are selected and the sync is started
    _start(page, ["ALPHA", "BETA"])

    # Then each row shows an inline progress bar that moves while the projects sync
    _wait_status(page, "ALPHA", "SYNCING")
    _expect()(_progressbar(page, "ALPHA")).not_to_have_attribute("aria-valuenow", "0", timeout=30_000)
    _continue_is_clickable(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "onboarding-mid-sync.png"), full_page=True)

    # and ends COMPLETE at 100 % with the issue count
    for key, issues in (("ALPHA", 120), ("BETA", 80)):
        _wait_status(page, key, "COMPLETE")
        _expect()(_progressbar(page, key)).to_have_attribute("aria-valuenow", "100")
        _expect()(_row(page, key)).to_contain_text(f"Synced · {issues} issues")
    # The run ends after its projects (Reconcile Run, Finish Run): on a loaded machine, seconds later.
    _expect()(page.get_by_role("status")).to_have_text("All your Jira projects are synced.", timeout=30_000)
    seen = page.evaluate("window.__statusLog")
    for key in ("ALPHA", "BETA"):
        shown = [s for s in seen[key] if s != "UNSELECTED"]
        assert shown == ["PENDING", "SYNCING", "COMPLETE"], seen
    # and a project that was not selected shows no indicator
    _expect()(_progressbar(page, "GAMMA")).to_be_hidden()


def test_page_resumes_the_indicator_after_a_reload_mid_sync(page, served):
    # Given a sync under way
    _open(page, served, "team-b")
    run_id = _start(page, ["ALPHA", "GAMMA"])
    _wait_status(page, "ALPHA", "SYNCING")

    # When the page is reloaded mid-sync
    page.reload()

    # Then it resumes the same run's indicator (no new start) and follows it to the end
    _expect()(_row(page, "ALPHA")).not_to_have_attribute("data-status", "UNSELECTED")
    _expect()(_row(page, "ALPHA").get_by_role("checkbox")).to_be_checked()
    assert json.loads(page.evaluate("sessionStorage.getItem('jiraOnboarding.run')"))["run_id"] == run_id
    _expect()(page.get_by_role("button", name="Start sync")).to_be_hidden()
    _continue_is_clickable(page)
    for key in ("ALPHA", "GAMMA"):
        _wait_status(page, key, "COMPLETE")
    _expect()(_progressbar(page, "ALPHA")).to_have_attribute("aria-valuenow", "100")


def test_continue_is_clickable_mid_sync_and_coming_back_resumes_the_indicator(page, served):
    # Given a sync under way
    _open(page, served, "team-c")
    _start(page, ["BETA", "GAMMA"])
    _wait_status(page, "BETA", "SYNCING")

    # When the user clicks Continue before the sync is done
    started = time.monotonic()
    page.get_by_role("link", name="Continue").click()

    # Then the next step opens at once
    _expect()(page).to_have_url(re.compile(r"/next\.html$"))
    _expect()(page.get_by_role("heading", name="Connect Slack")).to_be_visible()
    assert time.monotonic() - started < 5

    # and coming back shows the sync, still going or done, never restarted
    page.get_by_role("link", name="Back to Jira projects").click()
    _expect()(_row(page, "BETA")).not_to_have_attribute("data-status", "UNSELECTED")
    for key in ("BETA", "GAMMA"):
        _wait_status(page, key, "COMPLETE")


def test_a_failed_project_reads_as_retry_tonight_not_as_an_error(page, served):
    # Given the Jira site refuses one project (serve --fail-project OPS)
    _open(page, served, "team-d")
    _start(page, ["GAMMA", FAILING_PROJECT])

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # When the run finishes
    _wait_status(page, FAILING_PROJECT, "FAILED")
    _wait_status(page, "GAMMA", "COMPLETE")

    # Then the failed project says it will be retried, with the reason in small print, and no alarm
    row = _row(page, FAILING_PROJECT)
    _expect()(row.locator(".label")).to_have_text("We'll retry tonight")
    reason = row.locator("small.reason")
    _expect()(reason).to_be_visible()
    _expect()(reason).to_contain_text("permission")
    _expect()(_progressbar(page, FAILING_PROJECT)).to_have_attribute("aria-valuetext", "We'll retry tonight")
    _expect()(page.get_by_role("alert")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "onboarding-failed-project.png"), full_page=True)
    _expect()(page.get_by_role("status")).to_have_text(
        "1 of 2 projects synced; we'll retry the rest tonight."
    )
    _continue_is_clickable(page)


def test_page_without_a_token_asks_to_sign_in_and_the_api_refuses_it(page, served):
    page.goto(served.base_url + "/")
    _expect()(page.get_by_role("alert")).to_contain_text("not signed in")
    _continue_is_clickable(page)

    missing = page.request.get(f"{served.base_url}/jira/onboarding/run-x")
    forged = page.request.get(
        f"{served.base_url}/jira/onboarding/run-x",
        headers={"Authorization": f"Bearer {served.tokens['team-e'][:-4]}AAAA"},
    )
    valid = page.request.get(
        f"{served.base_url}/jira/onboarding/run-x",
        headers={"Authorization": f"Bearer {served.tokens['team-e']}"},
    )
    assert (missing.status, forged.status, valid.status) == (401, 401, 404)
    assert missing.json() == {"message": "Unauthorized"}


def test_page_lists_the_sites_projects_from_the_projects_route(page, served):
    # Given the page opened for a team, recording what it asks the API
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    _open(page, served, "team-f")

    # Then it listed the site's projects through GET /jira/projects (as deployed), with their size
    assert any("/jira/projects?" in url for url in asked) and not any("/dev/" in url for url in asked)
    for key, style in (("ALPHA", "company-managed"), ("GAMMA", "team-managed"), ("OPS", "company-managed")):
        _expect()(_row(page, key)).to_contain_text(style)
        _expect()(_row(page, key)).to_contain_text("issues")
    _expect()(_row(page, "ALPHA")).to_contain_text("120 issues")


def _member(page: Any, member_id: str) -> Any:
    return page.locator(f'li[data-member="{member_id}"]')


def test_members_panel_sets_marks_and_clears_a_match(page, served):
    # Given a team whose users were fetched by a sync
    _open(page, served, "team-g")
    _start(page, ["GAMMA"])
    _wait_status(page, "GAMMA", "COMPLETE")
    _expect()(_member(page, "m01")).to_have_attribute("data-match", "matched")
    _expect()(_member(page, "m01")).to_contain_text("Maria Garcia · by email")
    _expect()(_member(page, "m17")).to_have_attribute("data-match", "unmatched")

    # When a person picks m17's account and sets it
    _member(page, "m17").get_by_role("combobox").select_option(label="Omar Haddad")
    _member(page, "m17").get_by_role("button", name="Set").click()

    # Then the panel shows it as set by hand
    _expect()(_member(page, "m17")).to_have_attribute("data-match", "manual")
    _expect()(_member(page, "m17")).to_contain_text("Omar Haddad · set by you")

    # When m14 is marked "not in Jira", and m17 cleared again
    _member(page, "m14").get_by_role("button", name="Not in Jira").click()
    _expect()(_member(page, "m14")).to_have_attribute("data-match", "not_in_jira")
    _member(page, "m17").get_by_role("button", name="Clear").click()

    # Then each row says so
    _expect()(_member(page, "m14")).to_contain_text("Not in Jira (set by you)")
    _expect()(_member(page, "m17")).to_have_attribute("data-match", "unmatched")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "onboarding-members-panel.png"), full_page=True)
