"""The consent and error pages of the simulated auth.atlassian.com, and ``follow_consent``: the
two HTTP steps a user's browser takes (``GET /authorize``, ``POST /authorize/decision``), done
with httpx for the demo and tests that need no browser.

The page is plain HTML a Chromium test can drive: a checkbox per site (``name="site"``, all checked),
the request's parameters in hidden fields, and two buttons ``#accept`` and ``#deny``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

if TYPE_CHECKING:
    import httpx

    from .atlassian import SimSite

_HIDDEN = ("audience", "client_id", "scope", "redirect_uri", "state", "response_type", "prompt")


class ConsentError(RuntimeError):
    """The authorization server answered an error page instead of the consent page or a redirect."""


def html(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/html;charset=UTF-8", "Cache-Control": "no-store"}, text.encode()


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    )


def error_page(message: str) -> str:
    """Atlassian's answer to a broken authorization request: a page, not a redirect."""
    return _page(
        "Something went wrong",
        f'<h1>Something went wrong</h1><p id="error">{escape(message)}</p>',
    )


def consent_page(
    client_id: str, params: Mapping[str, str], scopes: Sequence[str], sites: Sequence[SimSite]
) -> str:
    """The consent screen: the app, the scopes it asks, a site chooser, Accept and Deny."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in _HIDDEN
        if name in params
    )
    scope_items = "".join(f'<li class="scope">{escape(s)}</li>' for s in scopes)
    site_items = "".join(
        f'<label><input type="checkbox" name="site" value="{escape(s.cloud_id)}" checked> '
        f"{escape(s.name)} ({escape(s.url)})</label><br>"
        for s in sites
    )
    body = (
        f"<h1>{escape(client_id)} is requesting access to your Atlassian account</h1>"
        f'<ul id="scopes">{scope_items}</ul>'
        '<form id="consent" method="post" action="/authorize/decision">'
        f'{hidden}<fieldset id="sites"><legend>Use app on</legend>{site_items}</fieldset>'
        '<button type="submit" id="accept" name="decision" value="accept">Accept</button> '
        '<button type="submit" id="deny" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page("Authorize app", body)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[tuple[str, str]] = []
        self.sites: list[str] = []
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden.append((a.get("name", ""), a.get("value", "")))
        elif tag == "input" and a.get("name") == "site" and "checked" in a:
            self.sites.append(a.get("value", ""))


def follow_consent(
    authorize_url: str,
    accept: bool = True,
    *,
    sites: Sequence[str] | None = None,
    client: httpx.Client | None = None,
) -> str:
    """Open the consent page and press Accept (or Deny), as a browser would: the redirect URL
    (``redirect_uri?code=...&state=...`` or ``...?error=access_denied...``), not followed.

    ``sites`` chooses cloud ids (default: the page's checked ones); ``client`` may carry a transport
    (``httpx.MockTransport(simulator.httpx_handler)``)."""
    import httpx

    own = client is None
    http = client or httpx.Client(timeout=10.0)
    try:
        page = http.get(authorize_url, follow_redirects=False)
        if page.status_code != 200:
            raise ConsentError(f"GET /authorize answered {page.status_code}: {page.text[:300]}")
        form = _FormReader()
        form.feed(page.text)
        fields: list[tuple[str, Any]] = [*form.hidden, ("decision", "accept" if accept else "deny")]
        fields += [("site", s) for s in (form.sites if sites is None else sites)]
        answer = http.post(urljoin(str(page.url), form.action), data=_multi(fields), follow_redirects=False)
        if answer.status_code != 302:
            raise ConsentError(f"POST /authorize/decision answered {answer.status_code}: {answer.text[:300]}")
        return answer.headers["location"]
    finally:
        if own:
            http.close()


def _multi(fields: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields with repeated names (``site``) as lists, as httpx encodes them."""
    out: dict[str, Any] = {}
    for name, value in fields:
        if name in out:
            out[name] = [*(out[name] if isinstance(out[name], list) else [out[name]]), value]
        else:
            out[name] = value
    return out
