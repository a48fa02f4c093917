"""The simulator's Atlassian consent page (jira_simulator/atlassian.py) in headless Chromium: Accept
redirects to the callback with a code the token endpoint takes, Deny with access_denied."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jira_simulator import JiraSimulator, Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
def simulator(demo_ws_for_browser: Workspace) -> Iterator[tuple[JiraSimulator, str]]:
    sim = JiraSimulator(demo_ws_for_browser)
    with sim.serve() as base:
        yield sim, base


@pytest.fixture(scope="module")
def demo_ws_for_browser() -> Workspace:
    from jira_simulator import build_workspace

    return build_workspace(seed=1, size="demo")


def _redirected(page: Any, sim: JiraSimulator, base: str, button: str) -> tuple[dict[str, str], str]:
    callback = f"{base}/oauth-callback"  # a loopback http URL: any is accepted by the demo app
    page.goto(sim.app.authorize_url(base, callback, state="browser-1"))
    page.click(f"#{button}")
    page.wait_for_url(f"{callback}?**")
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}, callback


def test_consent_page_accept_gives_a_code_the_token_endpoint_takes(page, simulator):
    sim, base = simulator
    query, callback = _redirected(page, sim, base, "accept")
    assert query["state"] == "browser-1"
    tokens = httpx.post(
        f"{base}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": sim.app.client_id,
            "client_secret": sim.app.client_secret,
            "code": query["code"],
            "redirect_uri": callback,
        },
    )
    assert tokens.status_code == 200 and tokens.json()["refresh_token"]


def test_consent_page_deny_redirects_with_access_denied(page, simulator):
    sim, base = simulator
    query, _ = _redirected(page, sim, base, "deny")
    assert query["error"] == "access_denied" and query["state"] == "browser-1"
    assert "code" not in query
