"""Atlassian's side of OAuth 2.0 (3LO) for one app shared by several sites, on the simulator's origin.

Locally one origin plays auth.atlassian.com (``GET /authorize``, ``POST /authorize/decision``,
``POST /oauth/token``), api.atlassian.com (``GET /oauth/token/accessible-resources``, the API under
``/ex/jira/{cloudId}/...``) and the sites. The flow is the one developer.atlassian.com documents
(``oauth-2-3lo-apps``; ../shared/JIRA_API_NOTES.md, "Connecting as an app"): a consent page, a
single-use code (10 minutes), an access token (1 hour), rotating refresh tokens with
``offline_access``. Control methods (``consent``, ``revoke``, ``expire_access_tokens``) drive it
without a browser; ``atlassian_pages.follow_consent`` does the two HTTP steps with httpx.

Answers to failures, where Atlassian documents them:

- refresh with a spent, revoked or unknown refresh token: 403 ``{"error": "invalid_grant",
  "error_description": "Unknown or invalid refresh token."}`` (developer.atlassian.com
  /cloud/oauth/getting-started/refresh-tokens, "403 Forbidden with ... invalid_grant");
- a wrong client id or secret: 401 ``{"error": "access_denied", "error_description": "Unauthorized"}``;
- an access token without a route's scope: 401 ``{"code":401,"message":"Unauthorized; scope does not
  match"}`` (Atlassian's gateway; scopes.py holds the table);
- a spent or expired code (guess: the pages say "invalid_grant" without the exact text) 403
  ``invalid_grant``; an expired or revoked access token, or one used on a site its grant does not
  cover (guess: the gateway answers as for an unknown token), 401 ``{"code":401,"message":"Unauthorized"}``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import atlassian_pages as pages
from .demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .scopes import GRANTABLE_SCOPES, NEEDED_SCOPES, OFFLINE, missing_scopes

AUDIENCE = "api.atlassian.com"
ACCESS_TOKEN_TTL_S = 3600  # documented: access tokens live one hour
CODE_TTL_S = 600  # documented: the authorization code is valid for 10 minutes
DEMO_CLOUD_ID = "5b1a0d4e-6c2f-4e8a-9d3b-7f1e2c4a6b80"
AVATAR_URL = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png"
JSON_CT = "application/json;charset=UTF-8"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
_BAD_REFRESH = {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
_BAD_CODE = {"error": "invalid_grant", "error_description": "Invalid authorization code"}
_BAD_CLIENT = {"error": "access_denied", "error_description": "Unauthorized"}


@dataclass(frozen=True)
class SimSite:
    """One Jira site the app can be granted: its cloud id (a UUID), name and URL."""

    cloud_id: str
    name: str
    url: str


DEMO_SITE = SimSite(DEMO_CLOUD_ID, "acme-sim", "https://acme-sim.atlassian.net")


@dataclass(frozen=True)
class Refusal:
    """How the gateway refuses an API call made with an app's access token."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class AuthorizeError(ValueError):
    """An authorization request Atlassian refuses with an error page (no redirect)."""


@dataclass
class Grant:
    """One user's consent: the scopes and sites it covers; revoking it kills all of its tokens."""

    id: str
    scopes: tuple[str, ...]
    cloud_ids: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Code:
    grant: Grant
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class AtlassianApp:
    """One OAuth 2.0 (3LO) app and the authorization server that serves it (see the module docs).

    ``redirect_uris`` empty accepts any loopback ``http`` URL; ``scopes`` are those it may grant;
    ``clock`` (epoch seconds) lets tests move time without sleeping; ``revoke_on_reuse`` revokes a
    grant whose spent refresh token is used again."""

    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    redirect_uris: list[str] = field(default_factory=list)
    sites: list[SimSite] = field(default_factory=lambda: [DEMO_SITE])
    scopes: tuple[str, ...] = GRANTABLE_SCOPES
    clock: Callable[[], float] = time.time
    # Atlassian may revoke the whole grant when a spent refresh token comes back (a leak or a race;
    # ../shared/JIRA_API_NOTES.md, "Auth"): off by default, on to test that a client never races.
    revoke_on_reuse: bool = False
    grants: list[Grant] = field(default_factory=list, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _codes: dict[str, _Code] = field(default_factory=dict, init=False, repr=False)
    _access: dict[str, tuple[Grant, float]] = field(default_factory=dict, init=False, repr=False)
    _refresh: dict[str, tuple[Grant, bool]] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ control

    def site(self, cloud_id: str) -> SimSite | None:
        return next((s for s in self.sites if s.cloud_id == cloud_id), None)

    def authorize_url(
        self, base_url: str, redirect_uri: str, scopes: tuple[str, ...] = NEEDED_SCOPES, state: str = "state"
    ) -> str:
        """The documented authorization URL for this app on the simulator at ``base_url``."""
        query = {
            "audience": AUDIENCE,
            "client_id": self.client_id,
            "scope": " ".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "prompt": "consent",
        }
        return f"{base_url.rstrip('/')}/authorize?{urlencode(query)}"

    def check_authorize(self, params: Mapping[str, str]) -> list[str]:
        """The requested scopes of a valid authorization request; :class:`AuthorizeError` otherwise."""
        if params.get("client_id") != self.client_id:
            raise AuthorizeError("Invalid client_id: this app is not registered.")
        if params.get("audience") != AUDIENCE:
            raise AuthorizeError("The audience parameter is missing or not api.atlassian.com.")
        if params.get("response_type") != "code":
            raise AuthorizeError("The response_type parameter must be 'code'.")
        if not self._redirect_allowed(params.get("redirect_uri", "")):
            raise AuthorizeError("The redirect_uri does not match the app's callback URLs.")
        requested = (params.get("scope") or "").split()
        if not requested:
            raise AuthorizeError("The scope parameter is missing.")
        unknown = [s for s in requested if s not in self.scopes]
        if unknown:
            raise AuthorizeError("The app cannot request these scopes: " + ", ".join(unknown))
        return list(dict.fromkeys(requested))

    def consent(self, params: Mapping[str, str] | str, cloud_ids: list[str] | None = None) -> str:
        """Accept an authorization request as the user would (all sites by default): the code."""
        params = _params(params)
        scopes = self.check_authorize(params)
        chosen = list(cloud_ids) if cloud_ids is not None else [s.cloud_id for s in self.sites]
        if not chosen or any(self.site(c) is None for c in chosen):
            raise AuthorizeError("Choose one or more of the app's sites.")
        with self._lock:
            grant = Grant(f"grant-{len(self.grants) + 1}", tuple(scopes), tuple(chosen))
            self.grants.append(grant)
            code = "sim-code-" + secrets.token_urlsafe(18)
            self._codes[code] = _Code(
                grant, params["client_id"], params["redirect_uri"], self.clock() + CODE_TTL_S
            )
        return code

    def decide(
        self, params: Mapping[str, str] | str, *, accept: bool = True, cloud_ids: list[str] | None = None
    ) -> str:
        """The consent page's answer: the redirect URL with a code, or with ``error=access_denied``."""
        params = _params(params)
        self.check_authorize(params)
        state = {"state": params["state"]} if "state" in params else {}
        if not accept:
            description = "User did not authorize the request"
            return _with_query(
                params["redirect_uri"], {"error": "access_denied", "error_description": description, **state}
            )
        code = self.consent(params, cloud_ids)
        return _with_query(params["redirect_uri"], {"code": code, **state})

    def revoke(self, token_or_grant: str) -> Grant:
        """Revoke the grant named by its id or any of its access or refresh tokens."""
        with self._lock:
            grant = self._grant_of(token_or_grant)
            if grant is None:
                raise KeyError(token_or_grant)
            grant.revoked = True
            return grant

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far expire now (so a refresh is needed): how many."""
        with self._lock:
            now = self.clock()
            for token, (grant, _) in self._access.items():
                self._access[token] = (grant, now)
            return len(self._access)

    def expire_access_token(self, token: str) -> None:
        """Make one access token expire now (the simulator's ``expired_token`` fault)."""
        with self._lock:
            if token in self._access:
                self._access[token] = (self._access[token][0], self.clock())

    def issued(self, token: str) -> bool:
        """Whether the token is one of this app's access tokens (live or not)."""
        with self._lock:
            return token in self._access

    def check_call(self, token: str, cloud_id: str, endpoint: str) -> Refusal | None:
        """None when the access token may make the call (``"METHOD /template"``) on the site."""
        with self._lock:
            grant = self._live_grant(token)
        if grant is None:
            return Refusal(401, _UNAUTHORIZED, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if cloud_id not in grant.cloud_ids:
            return Refusal(401, _UNAUTHORIZED)
        if missing_scopes(endpoint, set(grant.scopes)):
            return Refusal(401, {"code": 401, "message": "Unauthorized; scope does not match"})
        return None

    def accessible_resources(self, token: str) -> list[dict[str, Any]] | None:
        """The sites a live access token covers (None for any other token)."""
        with self._lock:
            grant = self._live_grant(token)
        if grant is None:
            return None
        sites = [s for c in grant.cloud_ids if (s := self.site(c)) is not None]
        return [
            {
                "id": s.cloud_id,
                "url": s.url,
                "name": s.name,
                "scopes": list(grant.scopes),
                "avatarUrl": AVATAR_URL,
            }
            for s in sites
        ]

    # ------------------------------------------------------------------ the token endpoint

    def token(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /oauth/token``: ``(status, JSON body)``."""
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, _BAD_CLIENT
        with self._lock:
            if grant_type == "authorization_code":
                return self._exchange_code(form)
            return self._refresh_tokens(str(form.get("refresh_token") or ""))

    def _exchange_code(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        code = self._codes.get(str(form.get("code") or ""))
        if (
            code is None
            or code.used
            or code.expires_at <= self.clock()
            or code.client_id != form.get("client_id")
            or code.redirect_uri != form.get("redirect_uri")
        ):
            return 403, _BAD_CODE
        code.used = True
        return 200, self._issue(code.grant)

    def _refresh_tokens(self, refresh_token: str) -> tuple[int, dict[str, Any]]:
        grant, spent = self._refresh.get(refresh_token, (None, True))
        if grant is not None and spent and self.revoke_on_reuse:
            grant.revoked = True
        if grant is None or spent or grant.revoked:
            return 403, _BAD_REFRESH
        self._refresh[refresh_token] = (grant, True)  # rotation: the old one is spent
        return 200, self._issue(grant)

    def _issue(self, grant: Grant) -> dict[str, Any]:
        access = "sim-at-" + secrets.token_urlsafe(24)
        self._access[access] = (grant, self.clock() + ACCESS_TOKEN_TTL_S)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_TTL_S,
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if OFFLINE in grant.scopes:
            refresh = "sim-rt-" + secrets.token_urlsafe(24)
            self._refresh[refresh] = (grant, False)
            body["refresh_token"] = refresh
        return body

    def _live_grant(self, token: str) -> Grant | None:
        grant, expires_at = self._access.get(token, (None, 0.0))
        if grant is None or grant.revoked or expires_at <= self.clock():
            return None
        return grant

    def _grant_of(self, token_or_grant: str) -> Grant | None:
        for grant in self.grants:
            if grant.id == token_or_grant:
                return grant
        if token_or_grant in self._access:
            return self._access[token_or_grant][0]
        if token_or_grant in self._refresh:
            return self._refresh[token_or_grant][0]
        return None

    def _redirect_allowed(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS

    # ------------------------------------------------------------------ HTTP

    def answer(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes] | None:
        """The answer to an authorization-server request, or None when the path is not one."""
        path = path.rstrip("/") or "/"
        if (method, path) == ("GET", "/authorize"):
            return self._authorize_page(_params(query))
        if (method, path) == ("POST", "/authorize/decision"):
            return self._decision(parse_qs((body or b"").decode(), keep_blank_values=True))
        if (method, path) == ("POST", "/oauth/token"):
            status, payload = self.token(_token_form(headers, body))
            return _json(status, payload)
        if (method, path) == ("GET", "/oauth/token/accessible-resources"):
            auth = headers.get("authorization", "")
            resources = self.accessible_resources(auth[7:].strip()) if auth.lower()[:7] == "bearer " else None
            return _json(401, _UNAUTHORIZED) if resources is None else _json(200, resources)
        return None

    def _authorize_page(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            scopes = self.check_authorize(params)
        except AuthorizeError as exc:
            return pages.html(400, pages.error_page(str(exc)))
        return pages.html(200, pages.consent_page(self.client_id, params, scopes, self.sites))

    def _decision(self, form: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        params = {k: v[0] for k, v in form.items() if k not in ("site", "decision") and v}
        accept = (form.get("decision") or [""])[0] == "accept"
        try:
            location = self.decide(params, accept=accept, cloud_ids=form.get("site", []))
        except AuthorizeError as exc:
            return pages.html(400, pages.error_page(str(exc)))
        return 302, {"Location": location, "Content-Type": "text/html;charset=UTF-8"}, b""


def _params(params: Mapping[str, str] | str) -> dict[str, str]:
    """Authorization parameters from a mapping, a query string or a whole authorize URL."""
    if not isinstance(params, str):
        return dict(params)
    query = urlsplit(params).query if "?" in params or "://" in params else params
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _with_query(uri: str, extra: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return parts._replace(query=query).geturl()


def _token_form(headers: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """The token request's parameters: a JSON body (as Atlassian's examples send) or a form."""
    raw = (body or b"").decode(errors="replace")
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    if "application/x-www-form-urlencoded" in headers.get("content-type", ""):
        return form
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return form  # a form sent without its content type
    return parsed if isinstance(parsed, dict) else {}


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": JSON_CT, "Cache-Control": "no-store"}
    return status, headers, json.dumps(payload).encode()
