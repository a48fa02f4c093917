"""The connection's boundary models for the OAuth 2.0 (3LO) flow and GET /jira/connection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jira_onboarding.contracts import BoundaryModel, ConnectionResponse, Contract
from jira_onboarding.jira_sites import CLOUD_ID_PATTERN

_NONCE = r"^[A-Za-z0-9_-]{22,128}$"


class OAuthAuthorizeRequest(Contract):
    """POST /jira/oauth/authorize body: a random value the page keeps (sessionStorage) and sends
    again to connect, so the grant is bound to the browser that asked as well as to the team."""

    browser_nonce: str = Field(pattern=_NONCE, examples=["Zr4bS0c1pL2m3n4o5p6q7r8s9t"])


class OAuthAuthorizeResponse(BoundaryModel):
    authorize_url: str
    state: str
    expires_in: int


class OAuthConnectRequest(Contract):
    """POST /jira/oauth/connect body: the authorization the callback stored, and the site to connect
    (needed only when the grant covers several)."""

    state: str = Field(pattern=_NONCE)
    browser_nonce: str = Field(pattern=_NONCE)
    cloud_id: str | None = Field(default=None, pattern=CLOUD_ID_PATTERN)


class OAuthSite(BoundaryModel):
    cloud_id: str
    url: str
    name: str


class ConnectionStatus(BoundaryModel):
    """GET /jira/connection: whether the team is connected, to which site, and whether Jira needs
    the team to reconnect (the grant was revoked, the user left, or it sat unused 90 days)."""

    connected: bool
    state: Literal["not_connected", "connected", "reconnect_needed"]
    auth_kind: str | None = None
    site_url: str | None = None
    site_name: str | None = None
    reason: str | None = None
    live_updates: bool = False


class OAuthConnectResponse(BoundaryModel):
    """`connected` with the connection, or `choose_site` with the sites the grant covers."""

    status: Literal["connected", "choose_site"]
    sites: list[OAuthSite] = []
    connection: ConnectionResponse | None = None
