"""No team can see or touch another team's data: every API route, walked with another team's token."""

from __future__ import annotations

import json

from jira_onboarding.dal.team import TeamStores, dump_team

from local_harness.stack import LocalStack
from local_harness.template import template_model
from tests.conftest import TEAM, connect_team

OTHER = "team-intruder"


def _routes() -> list[tuple[str, str]]:
    return sorted({route for spec in template_model().functions() for route in spec.http_routes})


def _body(method: str, path: str, jira_url: str) -> dict | None:
    if method == "POST" and path == "/jira/onboarding":
        return {"project_keys": ["ALPHA"]}
    if method == "POST" and path == "/jira/connection":
        return {"site_url": jira_url, "auth_kind": "api_token", "email": "x@y.z", "api_token": "nope"}
    if method == "PUT" and "{member_id}" in path:
        return {"not_in_jira": True}
    return None


def test_every_route_with_another_teams_token_leaks_nothing(
    stack: LocalStack, connected_team, workspace, jira_url
):
    # Given team A has synced its projects (runs, statuses, metrics and insights exist)
    _, _, started = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "OPS"]}
    )
    stack.wait_for_executions()
    run_id = started["run_id"]
    before = sorted(json.dumps(item, sort_keys=True, default=str) for item in dump_team(TEAM))
    secrets_of_a = [run_id, "ALPHA-", "OPS-", *(m["member_id"] for m in workspace.team_members)]

    # And another team, connected to its own Jira, that knows team A's run id
    connect_team(OTHER, jira_url)
    walked = []
    for method, path in _routes():
        # Team A's own ids: another team knowing them must still reach nothing.
        concrete = path.replace("{run_id}", run_id).replace("{member_id}", "m04")
        body = _body(method, path, jira_url)
        status, _, answer = stack.http(method, concrete, team_id=OTHER, body=body)
        walked.append((method, path, status))
        if method == "DELETE" and path == "/jira/connection":
            # It disconnected the caller's own Jira only (team A's data is compared below): reconnect.
            assert status == 200, answer
            connect_team(OTHER, jira_url)
        text = json.dumps(answer)
        # Then no answer carries anything of team A's
        if "{run_id}" in path:
            # Team A's run reads exactly like a run that does not exist (the id is the caller's own input).
            made_up = "run-20000101T000000-00000000"
            _, _, unknown = stack.http(method, path.replace("{run_id}", made_up), team_id=OTHER)
            assert status == 404, (method, path, status)
            assert text == json.dumps(unknown).replace(made_up, run_id)
        elif "{member_id}" in path:
            # Team A's member reads exactly like a member that does not exist.
            _, _, unknown = stack.http(
                method, path.replace("{member_id}", "m-made-up"), team_id=OTHER, body=body
            )
            assert status == 404, (method, path, status)
            assert text == json.dumps(unknown).replace("m-made-up", "m04")
        elif not (method == "POST" and path == "/jira/onboarding"):
            for secret in secrets_of_a:
                assert secret not in text, (method, path, secret)
        if path in {"/jira/metrics", "/jira/insights"}:
            assert status == 404, (method, path, status)
    stack.wait_for_executions()

    # And team A's data is exactly as it was: the other team's POSTs wrote only under its own key
    after = sorted(json.dumps(item, sort_keys=True, default=str) for item in dump_team(TEAM))
    assert after == before
    assert {m for m, _, _ in walked} == {"GET", "POST", "PUT", "DELETE"}
    assert len(walked) == len(_routes()) >= 5
    assert {p.project_key for p in TeamStores(OTHER).projects.list_tracked()} == {"ALPHA"}
