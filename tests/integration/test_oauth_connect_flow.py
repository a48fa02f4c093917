"""Connect Jira through the one OAuth app on the local stack, against the simulator playing
Atlassian: the HTTP routes as template.yaml gives them (the callback without a JWT), the
simulator's consent page, rotating tokens, accessible-resources over two sites, and a sync of the
connected site's projects through `/ex/jira/{cloudId}`. Then the grant is revoked: the next
refresh marks the connection "reconnect needed" once, and reconnecting resumes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from jira_onboarding.dal.team import TeamStores

from jira_simulator import JiraSimulator, SimSite, build_workspace, follow_consent
from local_harness import oauth_connect
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN

SECOND = SimSite("0d3c6b2a-1f4e-4a9b-8c7d-6e5f4a3b2c1d", "beta-sim", "https://beta-sim.atlassian.net")


@dataclass
class World:
    stack: LocalStack
    simulator: JiraSimulator


@pytest.fixture
def world() -> Iterator[World]:
    simulator = JiraSimulator(build_workspace(seed=1), email=SIM_EMAIL, api_token=SIM_TOKEN)
    simulator.app.sites.append(SECOND)
    with simulator.serve() as url, LocalStack() as stack:
        stack.use_atlassian(url, simulator.app)
        yield World(stack, simulator)


def _connection(team: str) -> dict:
    return TeamStores(team).connection.get().model_dump()  # type: ignore[union-attr]


def test_connect_choose_site_sync_and_reconnect_after_a_revoked_grant(world: World) -> None:
    stack, app = world.stack, world.simulator.app
    team = "team-oauth-flow"
    status, _, before = stack.http("GET", "/jira/connection", team_id=team)
    assert (status, before["state"]) == (200, "not_connected")

    connected = oauth_connect.connect_through_app(stack, team, site_name="acme-sim")
    assert connected.sites_offered == 2 and connected.site_url == "https://acme-sim.atlassian.net"
    stored = _connection(team)
    assert stored["auth_kind"] == "oauth" and stored["cloud_id"] == app.sites[0].cloud_id
    assert stored["site_url"].endswith(f"/ex/jira/{app.sites[0].cloud_id}")
    assert app.client_secret not in repr(stored)

    status, _, started = stack.http(
        "POST", "/jira/onboarding", team_id=team, body={"project_keys": ["ALPHA"]}
    )
    assert status == 202, started
    stack.wait_for_executions(timeout_s=120)
    status, _, run = stack.http("GET", started["status_url"], team_id=team)
    assert [p["status"] for p in run["projects"]] == ["COMPLETE"], run
    gateway_calls = world.simulator.calls("/rest/api/3/search/jql")
    assert gateway_calls, "the sync searched Jira"

    # Atlassian revokes the grant (the user removed the app): the next refresh is refused for good.
    app.revoke(app.grants[-1].id)
    app.expire_access_tokens()
    refreshes = len(world.simulator.calls("/oauth/token"))
    status, _, again = stack.http("POST", "/jira/onboarding", team_id=team, body={"project_keys": ["BETA"]})
    assert status == 202, again  # (the grant is not known to be gone until a refresh is refused)
    stack.wait_for_executions(timeout_s=120)
    status, _, run = stack.http("GET", again["status_url"], team_id=team)
    assert run["projects"][0]["status"] == "FAILED" and "Reconnect Jira" in run["projects"][0]["reason"], run
    status, _, state = stack.http("GET", "/jira/connection", team_id=team)
    assert state["state"] == "reconnect_needed" and state["reason"], state
    assert len(world.simulator.calls("/oauth/token")) - refreshes <= 1, "one refresh attempt, no storm"
    selection = {"project_keys": ["ALPHA", "BETA"]}  # (the same selection within 10 minutes is a replay)
    status, _, refused = stack.http("POST", "/jira/onboarding", team_id=team, body=selection)
    assert status == 409 and "Reconnect Jira" in refused["message"]

    oauth_connect.connect_through_app(stack, team, site_name="acme-sim")
    status, _, state = stack.http("GET", "/jira/connection", team_id=team)
    assert state["state"] == "connected"
    status, _, resumed = stack.http("POST", "/jira/onboarding", team_id=team, body=selection)
    assert status == 202, resumed
    stack.wait_for_executions(timeout_s=120)
    status, _, run = stack.http("GET", resumed["status_url"], team_id=team)
    assert sorted(p["status"] for p in run["projects"]) == ["COMPLETE", "COMPLETE"], run


@pytest.mark.parametrize("case", ["denied", "replayed", "forged"])
def test_a_denied_replayed_or_forged_callback_stores_nothing(case: str, world: World) -> None:
    stack = world.stack
    team = f"team-oauth-{case}"
    url, state, nonce = oauth_connect.authorize(stack, team)
    redirect = follow_consent(url, accept=case != "denied")
    if case == "forged":
        redirect = redirect.replace(state, "f" * 43)
    outcome = oauth_connect.callback(stack, redirect)
    if case == "replayed":
        assert outcome == "granted"
        outcome = oauth_connect.callback(stack, redirect)  # the same redirect again
        assert outcome == "expired"
        status, answer = oauth_connect.connect(stack, team, state, nonce)
        assert status == 200 and answer["status"] == "choose_site"  # the first one still stands
        return
    assert outcome == {"denied": "denied", "forged": "expired"}[case]
    status, answer = oauth_connect.connect(stack, team, state, nonce)
    assert status == 409 and "Connect Jira" in answer["message"]
    assert TeamStores(team).connection.get() is None


def test_the_default_deployment_refuses_api_tokens_and_client_secrets_with_a_sentence(world: World) -> None:
    body = {
        "site_url": "https://acme.atlassian.net",
        "auth_kind": "api_token",
        "email": "a@b.co",
        "api_token": "t",
    }
    status, _, answer = world.stack.http("POST", "/jira/connection", team_id="team-tokens", body=body)
    assert status == 400 and "does not accept API tokens" in answer["message"]
    own_app = {"cloud_id": SECOND.cloud_id, "auth_kind": "oauth", "client_id": "x", "client_secret": "y"}
    status, _, answer = world.stack.http("POST", "/jira/connection", team_id="team-tokens", body=own_app)
    assert status == 400 and "client_secret" in answer["message"]
    assert TeamStores("team-tokens").connection.get() is None
