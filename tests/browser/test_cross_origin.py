"""The API called from a page on another origin, as a deployment whose page is not on the API's
domain does: the browser's preflight and the answer's CORS headers (template.yaml's
CorsConfiguration, from AllowedOrigins), in Chromium; an origin not allowed is blocked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Served

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><title>elsewhere</title><p id="out">waiting</p>
<script>
const q = new URLSearchParams(location.search);
fetch(q.get("api") + "/jira/connection", {headers: {Authorization: "Bearer " + q.get("token")}})
  .then(r => r.json()).then(b => { document.getElementById("out").textContent = "state " + b.state; })
  .catch(e => { document.getElementById("out").textContent = "blocked"; });
</script>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def elsewhere(tmp_path: Path, served: Served) -> Iterator[str]:
    """A static server on the origin the API allows, serving one page."""
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    port = urlsplit(served.other_origin).port or 0
    httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield served.other_origin
    finally:
        httpd.shutdown()
        httpd.server_close()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_a_page_on_an_allowed_origin_calls_the_api_with_its_token(
    page: Any, served: Served, elsewhere: str
) -> None:
    page.goto(f"{elsewhere}/page.html?api={served.base_url}&token={served.tokens['team-a']}")
    _expect()(page.locator("#out")).to_have_text("state connected")


def test_a_page_on_another_origin_is_blocked_by_the_browser(
    page: Any, served: Served, tmp_path: Path
) -> None:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        page.goto(f"{origin}/page.html?api={served.base_url}&token={served.tokens['team-a']}")
        _expect()(page.locator("#out")).to_have_text("blocked")
    finally:
        httpd.shutdown()
        httpd.server_close()
