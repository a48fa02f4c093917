"""Fixing a match by hand through the API, on moto with the real template and state machine: the
members view, setting an account, "not in Jira", clearing; every later sync keeps what a person
set; another team's member is a 404, exactly like one that does not exist."""

from __future__ import annotations

from typing import Any

from jira_simulator import Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM, connect_team
from tests.conftest import select_and_wait as _run


def _members(stack: LocalStack, team: str = TEAM) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    code, _, body = stack.http("GET", "/jira/members", team_id=team)
    assert code == 200, body
    return {m["member_id"]: m for m in body["members"]}, body["unclaimed_jira_accounts"]


def _put(stack: LocalStack, member_id: str, body: Any, team: str = TEAM) -> tuple[int, Any]:
    code, _, answer = stack.http("PUT", f"/jira/members/{member_id}/match", team_id=team, body=body)
    return code, answer


def test_members_routes_set_clear_and_not_in_jira_survive_a_resync(
    stack: LocalStack, connected_team: str, workspace: Workspace, jira_url: str
):
    # Given a synced team: its members matched by email, name and login, two "Alex Kim" ambiguous
    _run(stack, ["OPS"])
    members, unclaimed = _members(stack)
    truth = workspace.member_accounts
    assert members["m01"]["status"] == "matched" and members["m01"]["method"] == "email"
    assert members["m04"]["status"] == "unmatched"
    unclaimed_ids = {a["account_id"] for a in unclaimed}
    assert {truth["m04"], truth["m16"]} <= unclaimed_ids
    maria = members["m01"]["jira_account_id"]
    assert maria not in unclaimed_ids

    # When a person sets m04's account, marks m14 "not in Jira", and gives Maria's account to m17
    code, answer = _put(stack, "m04", {"account_id": truth["m04"]})
    assert code == 200 and answer["member"]["status"] == "manual", answer
    assert answer["member"]["jira_display_name"] == "Alex Kim"
    code, answer = _put(stack, "m14", {"not_in_jira": True})
    assert code == 200 and answer["member"]["status"] == "not_in_jira"
    code, answer = _put(stack, "m17", {"account_id": maria})
    # Then the automatic match that held the account is cleared
    assert code == 200 and answer["cleared_members"] == ["m01"]

    # When m17's match is cleared again, Then m17 is unmatched (and the account unclaimed)
    code, _, cleared = stack.http("DELETE", "/jira/members/m17/match", team_id=TEAM)
    assert code == 200 and cleared["status"] == "unmatched" and cleared["jira_account_id"] is None
    members, unclaimed = _members(stack)
    assert maria in {a["account_id"] for a in unclaimed}

    # When the team syncs again, Then what a person set is kept, and m01 is matched by email again
    _run(stack, ["OPS", "GAMMA"])
    members, _ = _members(stack)
    assert (members["m04"]["status"], members["m04"]["jira_account_id"]) == ("manual", truth["m04"])
    assert (members["m14"]["status"], members["m14"]["jira_account_id"]) == ("not_in_jira", None)
    assert members["m01"]["jira_account_id"] == maria and members["m01"]["method"] == "email"
    # and the other "Alex Kim" member now gets the other account by name (the first one is claimed)
    assert members["m16"]["jira_account_id"] == truth["m16"]

    # And another team's member is a 404, exactly like a member that does not exist
    connect_team("team-other", jira_url, None)
    assert _put(stack, "m04", {"not_in_jira": True}, team="team-other")[0] == 404
    assert stack.http("DELETE", "/jira/members/m04/match", team_id="team-other")[0] == 404
    assert _put(stack, "nobody", {"not_in_jira": True})[0] == 404
    other_members, other_unclaimed = _members(stack, "team-other")
    assert other_members == {} and other_unclaimed == []
    assert _members(stack)[0]["m04"]["status"] == "manual"  # untouched by the other team's calls


def test_members_routes_refuse_bad_requests_with_a_sentence(stack: LocalStack, connected_team: str):
    _run(stack, ["OPS"])
    members, unclaimed = _members(stack)
    # apps, customers and inactive accounts are never offered
    assert not {a["display_name"] for a in unclaimed} & {
        "Slack",
        "Automation for Jira",
        "Cara Customer",
        "Ben Carter",
    }
    cases = [
        ({"account_id": "x", "not_in_jira": True}, 400),
        ({}, 400),
        ({"account_id": "no-such-account"}, 400),
        ({"account_id": members["m05"]["jira_account_id"], "extra": 1}, 400),
    ]
    for body, status in cases:
        code, answer = _put(stack, "m04", body)
        assert code == status and answer["message"], (body, answer)
    # An account a person already gave someone else must be cleared there first
    assert _put(stack, "m04", {"account_id": unclaimed[0]["account_id"]})[0] == 200
    code, answer = _put(stack, "m16", {"account_id": unclaimed[0]["account_id"]})
    assert code == 409 and "m04" in answer["message"]
    assert _members(stack)[0]["m04"]["status"] == "manual"  # nothing written by the refused calls
