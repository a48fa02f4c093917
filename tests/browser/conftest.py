"""Headless Chromium (Debian's, never a Playwright download) against `jira-onboarding serve`.

The server runs as a subprocess on a free port, with a slowed-down Jira simulator so a sync takes
a few seconds and the page can be watched mid-sync. Browser tests skip only when Chromium is
absent outside CI; in CI (CI=true) they must run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAILING_PROJECT = "OPS"
# A team per test: a team's second sync of a project is incremental (too quick to watch), and a
# repeated selection within ten minutes is the same (idempotent) start.
TEAMS = ["team-a", "team-b", "team-c", "team-d", "team-e", "team-f", "team-g", "team-h", "team-i", "team-j"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists() or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (make browser installs it); CI never skips")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@dataclass
class Served:
    base_url: str
    tokens: dict[str, str]
    output: list[str]
    jira_url: str  # the simulator (its control API changes the workspace and sends the webhooks)
    other_origin: str = ""  # an origin the API allows (CORS) for a page served elsewhere

    def page_url(self, team: str) -> str:
        return f"{self.base_url}/#token={self.tokens[team]}"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`jira-onboarding serve` on a free port: 250 ms per Jira call, 20 issues a page, OPS refused."""
    other_origin = f"http://127.0.0.1:{_free_port()}"
    command = [
        sys.executable,
        "-m",
        "local_harness.cli",
        "serve",
        "--port",
        "0",
        *(arg for team in TEAMS for arg in ("--team", team)),
        "--latency-ms",
        "250",
        "--page-size",
        "20",
        "--fail-project",
        FAILING_PROJECT,
        "--connected",  # every team through the OAuth app ahead (test_connect_jira.py disconnects its own)
        "--second-site",
        "--allowed-origin",
        other_origin,
    ]
    errors = tmp_path_factory.mktemp("serve") / "stderr.txt"
    with errors.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line.rstrip("\n"))
                if line.startswith("Press Ctrl-C"):
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            if not ready.wait(90) or process.poll() is not None:
                raise RuntimeError(
                    "jira-onboarding serve did not start:\n"
                    + "\n".join(output)
                    + errors.read_text(encoding="utf-8")
                )
            text = "\n".join(output)
            first = re.search(r"^\s+page\s+(http://\S+)/#token=(\S+)$", text, re.MULTILINE)
            others = re.findall(r"^\s+page for (\S+)\s+http://\S+/#token=(\S+)$", text, re.MULTILINE)
            assert first, text
            tokens = {TEAMS[0]: first.group(2), **dict(others)}
            assert set(tokens) == set(TEAMS), text
            jira = re.search(r"^\s+Jira\s+simulator at (http://\S+) ", text, re.MULTILINE)
            assert jira, text
            yield Served(
                base_url=first.group(1),
                tokens=tokens,
                output=output,
                jira_url=jira.group(1),
                other_origin=other_origin,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if IN_CI:
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    # Playwright's own browser download is never used (`playwright install` must not run): it drives
    # the system Chromium, with a fresh temporary profile per launch.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Records every status a project row shows, in order, surviving nothing but this document.
STATUS_RECORDER = """
window.__statusLog = {};
const record = (el) => {
  const key = el.dataset.project, status = el.dataset.status;
  if (!key || !status) return;
  const log = (window.__statusLog[key] = window.__statusLog[key] || []);
  if (log[log.length - 1] !== status) log.push(status);
};
new MutationObserver((mutations) => {
  for (const m of mutations) {
    if (m.type === "attributes") record(m.target);
    for (const node of m.addedNodes || []) {
      if (node.nodeType === 1) {
        if (node.dataset && node.dataset.project) record(node);
        node.querySelectorAll && node.querySelectorAll("[data-project]").forEach(record);
      }
    }
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
"""


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (its own sessionStorage) per test."""
    context = chromium.new_context(viewport={"width": 900, "height": 760}, reduced_motion="reduce")
    context.add_init_script(STATUS_RECORDER)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()
