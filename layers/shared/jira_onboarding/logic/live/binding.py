"""Which connection a dynamic-webhook delivery is for: pure functions of the parsed body.

A dynamic webhook's JWT is signed with the OAuth app's client secret, which is the same for every
customer of the app: a valid JWT proves the delivery comes from Jira, not from the team's site. A
delivery taken from one customer's traffic (or made by anyone who can get one signed) would
otherwise be accepted at another customer's URL. So the body must name what only this connection's
deliveries name:

- `matchedWebhookIds`: the ids of the app's webhooks the event matched, which Jira puts in every
  dynamic-webhook delivery. Every one must be an id we registered for this connection.
- the site: the `self` URL of each top-level object (`issue`, `user`, `comment`, `sprint`, ...) must
  be on one of the connection's origins, its site URL or Atlassian's API gateway for its cloud id.

Reasons are short fixed strings for the log, never for the caller (the receiver answers every
refusal with the same 401).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from jira_onboarding.jira_sites import OAUTH_API_ORIGIN

DEFAULT_PORTS = {"http": 80, "https": 443}


def connection_origins(site_url: str, cloud_id: str | None = None) -> tuple[str, ...]:
    """The origins a connection's payloads may name: its stored site URL, and the API gateway's
    base for its cloud id when one is known (`https://api.atlassian.com/ex/jira/{cloudId}`)."""
    origins = [site_url.rstrip("/")]
    if cloud_id:
        origins.append(f"{OAUTH_API_ORIGIN}/ex/jira/{cloud_id.lower()}")
    return tuple(dict.fromkeys(origins))


def _split(url: str) -> tuple[SplitResult, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return parts, port if port is not None else DEFAULT_PORTS.get(parts.scheme.lower())


def on_origin(url: object, origin: str) -> bool:
    """Whether `url` is on `origin` (scheme, host, port, and the origin's path as a whole prefix):
    `https://acme.atlassian.net@evil.test/`, `https://acme.atlassian.net.evil.test/` and
    `https://api.atlassian.com/ex/jira/<id>x/` are not on `https://acme.atlassian.net` or on
    `https://api.atlassian.com/ex/jira/<id>`."""
    if not isinstance(url, str) or not url.isprintable() or any(c in url for c in " \\"):
        return False
    given, expected = _split(url), _split(origin)
    if given is None or expected is None:
        return False
    (parts, port), (base, base_port) = given, expected
    if parts.username is not None or parts.password is not None:
        return False
    if not parts.hostname or (parts.scheme.lower(), parts.hostname, port) != (
        base.scheme.lower(),
        base.hostname,
        base_port,
    ):
        return False
    prefix = base.path.rstrip("/")
    return parts.path == prefix or parts.path.startswith(prefix + "/")


def _self_urls(body: dict[str, Any]) -> list[object]:
    return [value["self"] for value in body.values() if isinstance(value, dict) and "self" in value]


def site_problem(body: dict[str, Any], origins: Iterable[str]) -> str | None:
    """None if the body names a site, and every top-level object's `self` is on one of `origins`."""
    allowed = tuple(origins)
    urls = _self_urls(body)
    if not urls:
        return "no site in the payload"
    if not all(any(on_origin(url, origin) for origin in allowed) for url in urls):
        return "payload of another site"
    return None


def matched_ids_problem(body: dict[str, Any], registered: Collection[int]) -> str | None:
    """None if `matchedWebhookIds` is a non-empty list of ints, every one registered for this
    connection."""
    ids = body.get("matchedWebhookIds")
    if not isinstance(ids, list) or not ids:
        return "no matchedWebhookIds"
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return "unreadable matchedWebhookIds"
    if not set(ids) <= set(registered):
        return "webhook of another connection"
    return None


def binding_problem(body: object, registered: Collection[int], origins: Iterable[str]) -> str | None:
    """None if a dynamic-webhook delivery's body is bound to the connection (its webhook ids and its
    site); else why not."""
    if not isinstance(body, dict):
        return "unreadable body"
    return matched_ids_problem(body, registered) or site_problem(body, origins)
