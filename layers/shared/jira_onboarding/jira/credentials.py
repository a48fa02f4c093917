"""How to reach one Jira site, and the Authorization header it takes."""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class JiraCredentials:
    """How to reach one Jira site: `api_token` (Basic email:token) or `bearer` (OAuth access token)."""

    base_url: str
    auth_kind: str
    email: str | None = None
    api_token: str | None = None
    access_token: str | None = None

    def authorization_header(self) -> str:
        if self.auth_kind == "api_token":
            raw = f"{self.email}:{self.api_token}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.auth_kind in {"bearer", "oauth"}:
            return f"Bearer {self.access_token}"
        raise ValueError(f"unknown Jira auth kind {self.auth_kind!r}")

    def secrets(self) -> tuple[str, ...]:
        """Every credential this holds, for scrubbing text that leaves the client."""
        pair = f"{self.email}:{self.api_token}" if self.api_token else None
        return tuple(value for value in (self.api_token, self.access_token, pair) if value)
