"""Names for the budget: a site (never a team), an endpoint, and what a call costs in points."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_OAUTH_BASE = re.compile(r"^/ex/jira/(?P<cloud>[^/]+)")
_ID_SEGMENT = re.compile(r"(?<!/api)/(?:\d+|[A-Z][A-Z0-9_]+-\d+)(?=/|$)")  # not the API version
# Read-only POSTs: priced like reads (base point plus objects returned).
_READ_POSTS = ("/search/jql", "/search/approximate-count", "/changelog/bulkfetch")
# Every OAuth 2.0 call of this deployment is one app, with one Tier 1 pool shared by all its tenants.
OAUTH_APP = "app:oauth"


def site_key(base_url: str) -> str:
    """The budget's key: the cloud id for the OAuth base `https://api.atlassian.com/ex/jira/{cloudId}`,
    otherwise the site's origin (`https://acme.atlassian.net`). Two teams on one site share it."""
    parts = urlsplit(base_url.strip())
    match = _OAUTH_BASE.match(parts.path)
    if match:
        return f"cloud:{match.group('cloud')}"
    return f"origin:{parts.scheme.lower()}://{parts.netloc.lower()}"


def app_key(auth_kind: str) -> str | None:
    """The app-wide key an OAuth connection also answers to (a global quota pauses all of it);
    API-token traffic is under no points quota."""
    return OAUTH_APP if auth_kind in {"oauth", "bearer"} else None


def endpoint_of(method: str, path: str) -> str:
    """`GET /rest/agile/1.0/board/{id}/sprint`: Jira's burst buckets are per endpoint and method."""
    path = _OAUTH_BASE.sub("", urlsplit(path).path)
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path)}"


def points_cost(method: str, path: str, payload: Any) -> int:
    """Jira's documented cost model: a base point, plus per object returned (+1 per issue or
    project, +2 per user); writes cost the base only."""
    if method.upper() != "GET" and not path.endswith(_READ_POSTS):
        return 1
    objects = 0
    if isinstance(payload, list) and "/user" in path:
        objects = 2 * len(payload)
    elif isinstance(payload, dict):
        if isinstance(payload.get("issues"), list):
            objects = len(payload["issues"])
        elif isinstance(payload.get("issueChangeLogs"), list):
            # An issue's histories may come in several entries: the object is the issue.
            objects = len({e.get("issueId") for e in payload["issueChangeLogs"] if isinstance(e, dict)})
        elif "/project" in path and isinstance(payload.get("values"), list):
            objects = len(payload["values"])
        elif "/user" in path and isinstance(payload.get("values"), list):
            objects = 2 * len(payload["values"])
    return 1 + objects
