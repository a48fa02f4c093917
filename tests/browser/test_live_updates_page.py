"""The onboarding page shows live updates: whether they are on, and a change made in Jira (through
the simulator's control API) arriving on the live line and on its project's row, while the page
stays usable."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from local_harness.server import SIM_EMAIL, SIM_TOKEN
from tests.browser.conftest import Served

pytestmark = pytest.mark.browser

SYNC_TIMEOUT_MS = 90_000
LIVE_TIMEOUT_MS = 10_000  # edit -> applied (~1-2 s) plus the page's slowest poll while live (3 s)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, key: str) -> Any:
    return page.locator(f'li[data-project="{key}"]')


def test_page_shows_a_change_made_in_jira_on_the_live_line_and_its_project(page, served: Served):
    # Given a team whose GAMMA project has synced, on the page
    page.goto(served.page_url("team-h"))
    _expect()(_row(page, "GAMMA")).to_be_visible()
    _row(page, "GAMMA").get_by_role("checkbox").check()
    page.get_by_role("button", name="Start sync").click()
    _expect()(_row(page, "GAMMA")).to_have_attribute("data-status", "COMPLETE", timeout=SYNC_TIMEOUT_MS)
    live = page.locator("#live-updates")
    _expect()(live).to_have_attribute("data-live", "on")
    _expect()(live).to_have_text("Live updates on · no change received yet")

    # When an issue of GAMMA is edited in Jira
    edited = time.monotonic()
    answer = httpx.put(
        f"{served.jira_url}/_sim/control/issues/GAMMA-3",
        json={"summary": "Edited in Jira while the page is open"},
        auth=(SIM_EMAIL, SIM_TOKEN),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["deliveries"] >= 1

    # Then the live line shows the change received, and GAMMA's row its live change
    _expect()(live).to_have_text(
        re.compile(r"^Live updates on · last change received \d\d:\d\d:\d\d · [1-9]\d* changes? applied$"),
        timeout=LIVE_TIMEOUT_MS,
    )
    _expect()(_row(page, "GAMMA")).to_contain_text(
        re.compile(r"[1-9]\d* live changes? · last \d\d:\d\d:\d\d")
    )
    seen_after = time.monotonic() - edited
    assert seen_after < LIVE_TIMEOUT_MS / 1000
    # and the page stays usable: Continue is a plain, enabled link
    link = page.get_by_role("link", name="Continue")
    _expect()(link).to_be_enabled()
    assert link.get_attribute("href") == "/next.html"
