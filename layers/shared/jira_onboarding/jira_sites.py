"""Which Jira sites a team may register: Jira Cloud only, checked before any connection is made.

A team's site URL is where the service sends the team's credentials, from inside our network: any
other host would make it a proxy (to link-local metadata, private addresses, internal names) and a
port scanner. So the URL is not checked against a deny list of bad hosts but against the two
origins Jira Cloud serves its REST API from:

- `https://<site>.atlassian.net` (API tokens). Older Cloud sites still live on `<site>.jira.com`
  (Atlassian never moved them; the VS Code extension and GitLab's Jira app both had to add it), so
  that domain is accepted too. Not accepted: Atlassian's government cloud (`*.atlassian-us-gov-mod.net`,
  whose OAuth and API hosts differ too: add it with those if a customer needs it) and custom domains
  (Atlassian offers them for help-centre and portal pages, not for the REST API).
- `https://api.atlassian.com/ex/jira/{cloudId}` (OAuth 2.0), with the cloud id a UUID.

Only a bare origin is accepted: no user name or password (it would be sent instead of the token),
no port, path, query or fragment, and the host must be one DNS label under one of those domains, so
no IP literal in any notation (decimal, hex, octal, IPv4-mapped IPv6) can pass. The normalised
origin is what is stored.

Loopback (`localhost`, `127.0.0.1`, `[::1]`, any port, http or https) is accepted only where
`ALLOW_LOCAL_JIRA=true`: the local harness and the tests set it for the Jira simulator;
`template.yaml` never does (a test holds that).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

CLOUD_DOMAINS = ("atlassian.net", "jira.com")
OAUTH_API_ORIGIN = "https://api.atlassian.com"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_SETTING = "ALLOW_LOCAL_JIRA"

# Only characters a bare origin needs: anything else (spaces, %-escapes, backslashes, '@', '?',
# '#', non-ASCII) is refused before the URL is even split, so no parser quirk can reinterpret it.
_ORIGIN_CHARACTERS = re.compile(r"[A-Za-z0-9.:/\[\]-]{1,200}")
_SITE_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_CLOUD_HOST = re.compile(rf"{_SITE_LABEL}\.(?:{'|'.join(re.escape(d) for d in CLOUD_DOMAINS)})")
CLOUD_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_CLOUD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OAUTH_BASE = re.compile(rf"{re.escape(OAUTH_API_ORIGIN)}/ex/jira/({_CLOUD_ID.pattern})")
# The local harness's stand-in for Atlassian's gateway (the simulator on loopback), ALLOW_LOCAL_JIRA only.
_LOCAL_OAUTH_BASE = re.compile(rf"(https?://[^/@]+)/ex/jira/({_CLOUD_ID.pattern})")

EXAMPLE = "https://your-site.atlassian.net"


class JiraSiteError(ValueError):
    """A site URL the service will not send credentials to; the message says why, in our words."""


def local_jira_allowed() -> bool:
    """Read per check, not at import: the harness sets it after the library is imported."""
    return os.environ.get(LOCAL_SETTING, "").strip().lower() == "true"


def _has_explicit_port(netloc: str) -> bool:
    host_and_port = netloc.rsplit("]", 1)[-1] if netloc.startswith("[") else netloc
    return ":" in host_and_port


def jira_site_origin(url: str, *, allow_local: bool | None = None) -> str:
    """The normalised origin of a Jira Cloud site URL, or JiraSiteError saying what is wrong."""
    allow_local = local_jira_allowed() if allow_local is None else allow_local
    if not isinstance(url, str) or not _ORIGIN_CHARACTERS.fullmatch(url):
        if isinstance(url, str) and "@" in url:
            raise JiraSiteError("must not contain a user name or password; give the site's address only")
        raise JiraSiteError(f"must be the site's base URL, such as {EXAMPLE}")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise JiraSiteError(f"must be the site's base URL, such as {EXAMPLE}") from exc
    if parts.path not in ("", "/"):
        raise JiraSiteError(f"must be the site's base URL without a path, such as {EXAMPLE}")
    scheme = parts.scheme.lower()
    if allow_local and host in LOCAL_HOSTS and scheme in ("http", "https"):
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}" + (f":{port}" if port is not None else "")
    if scheme != "https":
        raise JiraSiteError(f"must be an https URL such as {EXAMPLE}")
    if _has_explicit_port(parts.netloc):
        raise JiraSiteError(f"must not name a port; Jira Cloud answers on https's own, as {EXAMPLE} does")
    if not _CLOUD_HOST.fullmatch(host):
        raise JiraSiteError(
            f"must be a Jira Cloud site ({' or '.join('<site>.' + d for d in CLOUD_DOMAINS)}), "
            f"such as {EXAMPLE}"
        )
    return f"https://{host}"


def oauth_site_origin(cloud_id: str) -> str:
    """The API base of an OAuth 2.0 site: Atlassian's gateway and the site's cloud id (a UUID)."""
    if not isinstance(cloud_id, str) or not _CLOUD_ID.fullmatch(cloud_id.lower()):
        raise JiraSiteError(
            "must be the site's cloud id, a UUID such as 1324a887-45db-1bf4-1e99-ef0ff456d421"
        )
    return f"{OAUTH_API_ORIGIN}/ex/jira/{cloud_id.lower()}"


def checked_base_url(base_url: str, *, allow_local: bool | None = None) -> str:
    """A stored base URL checked again before a client is opened on it (defence in depth: a row
    written before these rules, or by hand, is refused the same way a request is)."""
    match = _OAUTH_BASE.fullmatch(base_url)
    if match:
        return oauth_site_origin(match.group(1))
    allow_local = local_jira_allowed() if allow_local is None else allow_local
    local = _LOCAL_OAUTH_BASE.fullmatch(base_url)
    if local and allow_local:
        origin = jira_site_origin(local.group(1), allow_local=True)
        if (urlsplit(origin).hostname or "") in LOCAL_HOSTS:
            return f"{origin}/ex/jira/{local.group(2)}"
    return jira_site_origin(base_url, allow_local=allow_local)
