"""Atlassian's side for the unit tests of the OAuth connection: FakeAtlassian answers the token
endpoint and accessible-resources in-process; the fixtures put the app's secret in moto's Secrets
Manager and route Atlassian's httpx clients to the fake (Jira's stay on the simulator)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from jira_onboarding.logic.jira_access import oauth_app
from jira_onboarding.settings import get_settings

from jira_simulator import JiraSimulator

CLIENT_ID, CLIENT_SECRET = "app-client-id", "app-client-secret-9f2c"
SITE_A = {
    "id": "11111111-2222-4333-8444-555555555555",
    "url": "https://acme-sim.atlassian.net",
    "name": "acme",
}
SITE_B = {
    "id": "99999999-8888-4777-8666-555555555555",
    "url": "https://beta-sim.atlassian.net",
    "name": "beta",
}
API = "https://api.example.test"  # this product's API (the callback's base)
ATLASSIAN = "https://api.atlassian.com"  # answered in-process: FakeAtlassian, the simulator


class FakeAtlassian:
    """Atlassian's token endpoint and accessible-resources as documented: single-use codes,
    rotating refresh tokens, `invalid_grant` once revoked. Issued access tokens open the simulator."""

    def __init__(
        self, simulator: JiraSimulator, sites: list[dict[str, str]], scopes: tuple[str, ...]
    ) -> None:
        self.simulator, self.sites, self.scopes = simulator, sites, scopes
        self.codes: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.revoked = False
        self.token_calls: list[str] = []

    def code(self) -> str:
        code = secrets.token_urlsafe(16)
        self.codes.add(code)
        return code

    def _tokens(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.simulator.add_bearer_token(access)
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 3600,
            "scope": " ".join(self.scopes),
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token/accessible-resources":
            return httpx.Response(200, json=[{**s, "scopes": list(self.scopes)} for s in self.sites])
        body = json.loads(request.content)
        self.token_calls.append(body["grant_type"])
        if (body.get("client_id"), body.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json={"error": "access_denied"})
        if body["grant_type"] == "authorization_code" and body.get("code") in self.codes:
            self.codes.discard(body["code"])
            return httpx.Response(200, json=self._tokens())
        if (
            body["grant_type"] == "refresh_token"
            and not self.revoked
            and body.get("refresh_token") in self.refresh_tokens
        ):
            self.refresh_tokens.discard(body["refresh_token"])
            return httpx.Response(200, json=self._tokens())
        return httpx.Response(
            403, json={"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
        )


def app_secret_fixture(dynamodb_tables: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from jira_onboarding import aws

    name = f"unit/oauth-app-{secrets.token_hex(4)}"
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(
        Name=name, SecretString=json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    )
    monkeypatch.setenv("OAUTH_APP_SECRET_NAME", name)
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", "https://auth.atlassian.com")
    monkeypatch.setenv("ATLASSIAN_API_URL", ATLASSIAN)
    monkeypatch.setenv("APP_URL", "https://app.example.test")
    get_settings.cache_clear()
    yield
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    aws.forget_secret(name)
    get_settings.cache_clear()


def _atlassian(
    simulator: JiraSimulator,
    monkeypatch: pytest.MonkeyPatch,
    sites: list[dict[str, str]],
    scopes: tuple[str, ...],
) -> FakeAtlassian:
    fake = FakeAtlassian(simulator, sites, scopes)
    real_client = httpx.Client

    def client(*args: Any, **kwargs: Any) -> httpx.Client:
        # Atlassian's clients (the callback's, the token store's) have no transport of their own;
        # the Jira client's (the simulator's, simulated_jira) keeps its own.
        kwargs.setdefault("transport", httpx.MockTransport(fake.handle))
        return real_client(*args, **kwargs)

    monkeypatch.setattr(httpx, "Client", client)
    return fake


def atlassian_fixture(
    app_secret: None, simulated_jira: JiraSimulator, monkeypatch: pytest.MonkeyPatch
) -> FakeAtlassian:
    return _atlassian(simulated_jira, monkeypatch, [SITE_A], oauth_app.SCOPES)
