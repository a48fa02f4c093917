"""The simulator plays Atlassian's side of OAuth 2.0 (3LO): consent, codes, rotating refresh tokens,
accessible resources and the gateway's per-site, per-scope checks (jira_simulator/atlassian.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jira_simulator import JiraSimulator, Workspace
from jira_simulator.atlassian import CODE_TTL_S, AtlassianApp, AuthorizeError, SimSite
from jira_simulator.atlassian_pages import ConsentError, follow_consent
from jira_simulator.scopes import NEEDED_SCOPES

ORIGIN = "http://sim.test"
CALLBACK = "http://127.0.0.1:8765/oauth/callback"
SITE_A = SimSite("0b7c3e1a-2d4f-4a6b-8c9d-1e2f3a4b5c6d", "alpha-sim", "https://alpha-sim.atlassian.net")
SITE_B = SimSite("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "beta-sim", "https://beta-sim.atlassian.net")


@dataclass
class World:
    sim: JiraSimulator
    app: AtlassianApp
    http: httpx.Client
    now: list[float]

    def authorize_url(self, scopes: tuple[str, ...] = NEEDED_SCOPES, state: str = "s-1") -> str:
        return self.app.authorize_url(ORIGIN, CALLBACK, scopes, state)

    def token(self, **form: Any) -> httpx.Response:
        base = {"client_id": self.app.client_id, "client_secret": self.app.client_secret}
        return self.http.post("/oauth/token", json={**base, **form})

    def exchange(self, code: str) -> dict[str, Any]:
        answer = self.token(grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def connect(self, scopes: tuple[str, ...] = NEEDED_SCOPES, cloud_ids: list[str] | None = None) -> dict:
        return self.exchange(self.app.consent(self.authorize_url(scopes), cloud_ids))

    def api(self, access_token: str, cloud_id: str, path: str) -> httpx.Response:
        return self.http.get(
            f"/ex/jira/{cloud_id}{path}", headers={"Authorization": f"Bearer {access_token}"}
        )


@pytest.fixture
def world(demo_ws: Workspace) -> Iterator[World]:
    now = [1_800_000_000.0]
    app = AtlassianApp(sites=[SITE_A, SITE_B], clock=lambda: now[0])
    sim = JiraSimulator(demo_ws, app=app)
    with httpx.Client(transport=httpx.MockTransport(sim.httpx_handler), base_url=ORIGIN) as http:
        yield World(sim, app, http, now)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# ---------------------------------------------------------------------- authorize


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": "someone-else"}, "client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri"),
        ({"audience": None}, "audience"),
        ({"response_type": None}, "response_type"),
        ({"scope": "write:jira-work"}, "scopes"),
    ],
)
def test_authorize_refuses_a_broken_request_with_an_error_page_and_no_redirect(world, change, message):
    params = _query(world.authorize_url())
    for name, value in change.items():
        if value is None:
            params.pop(name)
        else:
            params[name] = value
    answer = world.http.get("/authorize", params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text
    with pytest.raises(AuthorizeError):
        world.app.consent(params)


def test_authorize_registered_redirect_uris_are_the_only_ones_accepted(demo_ws):
    app = AtlassianApp(redirect_uris=["https://app.example/cb"])
    assert app.check_authorize(_query(app.authorize_url(ORIGIN, "https://app.example/cb")))
    with pytest.raises(AuthorizeError):
        app.check_authorize(_query(app.authorize_url(ORIGIN, CALLBACK)))


def test_authorize_page_lists_the_app_scopes_sites_and_two_buttons(world):
    page = world.http.get(world.authorize_url(("read:jira-work", "offline_access"))).text
    assert world.app.client_id in page
    assert "read:jira-work" in page and "offline_access" in page
    assert 'id="accept"' in page and 'id="deny"' in page
    assert page.count('name="site"') == 2 and SITE_A.cloud_id in page and SITE_B.cloud_id in page
    assert 'action="/authorize/decision"' in page and 'name="state" value="s-1"' in page


# ---------------------------------------------------------------------- consent to API call


def test_consent_accept_code_token_resources_and_an_api_call_under_the_cloud_id(world):
    location = follow_consent(world.authorize_url(), client=world.http)
    assert location.startswith(CALLBACK + "?")
    redirect = _query(location)
    assert redirect["state"] == "s-1"

    tokens = world.exchange(redirect["code"])
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == set(NEEDED_SCOPES)
    assert tokens["refresh_token"]

    resources = world.http.get(
        "/oauth/token/accessible-resources", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert [(r["id"], r["url"], r["name"]) for r in resources] == [
        (SITE_A.cloud_id, SITE_A.url, SITE_A.name),
        (SITE_B.cloud_id, SITE_B.url, SITE_B.name),
    ]
    assert all(set(r["scopes"]) == set(NEEDED_SCOPES) and r["avatarUrl"] for r in resources)

    answer = world.api(tokens["access_token"], SITE_B.cloud_id, "/rest/api/3/field")
    assert answer.status_code == 200 and isinstance(answer.json(), list)
    assert world.sim.calls("GET /rest/api/3/field")[-1].tenant == SITE_B.cloud_id


def test_consent_deny_redirects_with_access_denied_and_the_state(world):
    location = follow_consent(world.authorize_url(state="xyz"), accept=False, client=world.http)
    redirect = _query(location)
    assert location.startswith(CALLBACK + "?")
    assert redirect["error"] == "access_denied" and redirect["error_description"]
    assert redirect["state"] == "xyz" and "code" not in redirect


def test_consent_without_a_chosen_site_is_refused(world):
    with pytest.raises(ConsentError):
        follow_consent(world.authorize_url(), sites=[], client=world.http)


def test_token_without_offline_access_has_no_refresh_token(world):
    tokens = world.connect(("read:jira-work",))
    assert "refresh_token" not in tokens and tokens["scope"] == "read:jira-work"


def test_token_endpoint_accepts_a_form_encoded_body(world):
    code = world.app.consent(world.authorize_url())
    answer = world.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )
    assert answer.status_code == 200 and answer.json()["access_token"]


# ---------------------------------------------------------------------- code and client checks


def test_code_is_single_use(world):
    code = world.app.consent(world.authorize_url())
    world.exchange(code)
    again = world.token(grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_ten_minutes_and_needs_the_same_redirect_uri(world):
    code = world.app.consent(world.authorize_url())
    wrong = world.token(grant_type="authorization_code", code=code, redirect_uri=CALLBACK + "/other")
    assert wrong.status_code == 403 and wrong.json()["error"] == "invalid_grant"
    world.now[0] += CODE_TTL_S + 1
    late = world.token(grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert late.status_code == 403 and late.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_access_denied_401(world):
    code = world.app.consent(world.authorize_url())
    answer = world.token(
        grant_type="authorization_code", code=code, redirect_uri=CALLBACK, client_secret="not-it"
    )
    assert answer.status_code == 401 and answer.json()["error"] == "access_denied"
    assert world.token(grant_type="password").status_code == 400


# ---------------------------------------------------------------------- refresh, expiry, revocation


def test_refresh_rotates_and_a_spent_refresh_token_is_invalid_grant(world):
    first = world.connect()
    second = world.token(grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reuse = world.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reuse.status_code == 403
    assert reuse.json() == {
        "error": "invalid_grant",
        "error_description": "Unknown or invalid refresh token.",
    }
    third = world.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200


def test_refresh_token_reuse_revokes_the_grant_when_the_app_says_so(world):
    world.app.revoke_on_reuse = True
    first = world.connect()
    second = world.token(grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert world.token(grant_type="refresh_token", refresh_token=first["refresh_token"]).status_code == 403
    latest = world.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert latest.status_code == 403 and latest.json()["error"] == "invalid_grant"
    assert world.api(second["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 401


def test_expired_access_token_is_refused_until_refreshed(world):
    tokens = world.connect()
    assert world.app.expire_access_tokens() >= 1
    refused = world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/myself")
    assert refused.status_code == 401 and refused.json()["code"] == 401
    fresh = world.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert world.api(fresh["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 200


def test_access_token_expires_after_an_hour_on_the_apps_clock(world):
    tokens = world.connect()
    world.now[0] += 3601
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 401


def test_revoke_kills_the_grants_refresh_and_access_tokens(world):
    tokens = world.connect()
    other = world.connect()
    grant = world.app.revoke(tokens["refresh_token"])
    assert grant.revoked
    refresh = world.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.status_code == 403 and refresh.json()["error"] == "invalid_grant"
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 401
    resources = world.http.get(
        "/oauth/token/accessible-resources", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert resources.status_code == 401
    assert world.api(other["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 200
    with pytest.raises(KeyError):
        world.app.revoke("no-such-grant")


def test_the_expired_token_fault_expires_an_app_token_too(world):
    from jira_simulator import Fault, FaultPlan

    tokens = world.connect()
    world.sim.faults = FaultPlan.script([("/rest/api/3/myself", Fault.expired_token())])
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 401
    world.sim.faults = FaultPlan.none()
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/field").status_code == 401


# ---------------------------------------------------------------------- gateway checks


def test_missing_scope_is_401_scope_does_not_match(world):
    tokens = world.connect(("read:jira-work", "offline_access"))
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/field").status_code == 200
    for path in ("/rest/api/3/users/search", "/rest/agile/1.0/board"):
        refused = world.api(tokens["access_token"], SITE_A.cloud_id, path)
        assert refused.status_code == 401
        assert refused.json() == {"code": 401, "message": "Unauthorized; scope does not match"}


def test_token_for_site_a_is_refused_on_site_b(world):
    tokens = world.connect(cloud_ids=[SITE_A.cloud_id])
    assert world.api(tokens["access_token"], SITE_A.cloud_id, "/rest/api/3/myself").status_code == 200
    refused = world.api(tokens["access_token"], SITE_B.cloud_id, "/rest/api/3/myself")
    assert refused.status_code == 401 and refused.json() == {"code": 401, "message": "Unauthorized"}
    resources = world.http.get(
        "/oauth/token/accessible-resources", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert [r["id"] for r in resources] == [SITE_A.cloud_id]


def test_app_token_is_refused_on_the_site_domain_and_static_tokens_still_work(world):
    tokens = world.connect()
    refused = world.http.get(
        "/rest/api/3/myself", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert refused.status_code == 401  # 3LO tokens work through api.atlassian.com only
    static = {"Authorization": "Bearer demo-oauth-token"}
    assert world.http.get("/rest/api/3/myself", headers=static).status_code == 200
    assert world.http.get(f"/ex/jira/{SITE_A.cloud_id}/rest/api/3/myself", headers=static).status_code == 200


def test_default_app_is_the_demo_app_whose_secret_signs_webhooks(demo_ws):
    from jira_simulator.live import live_parts

    sim = JiraSimulator(demo_ws)
    assert sim.app.client_id == "demo-oauth-client-id"
    assert [s.name for s in sim.app.sites] == ["acme-sim"]
    assert live_parts(sim)[0].oauth_client_secret == sim.app.client_secret == "demo-oauth-client-secret"


def test_follow_consent_over_a_real_http_server(demo_ws):
    sim = JiraSimulator(demo_ws)
    with sim.serve() as base:
        location = follow_consent(sim.app.authorize_url(base, CALLBACK))
        code = _query(location)["code"]
        tokens = httpx.post(
            f"{base}/oauth/token",
            json={
                "grant_type": "authorization_code",
                "client_id": sim.app.client_id,
                "client_secret": sim.app.client_secret,
                "code": code,
                "redirect_uri": CALLBACK,
            },
        ).json()
        cloud_id = sim.app.sites[0].cloud_id
        answer = httpx.get(
            f"{base}/ex/jira/{cloud_id}/rest/agile/1.0/board",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert answer.status_code == 200 and answer.json()["values"]
