"""GET /jira/projects on moto with the real template, against the simulator: the site's projects
with their size and style, tracked ones marked once selected, and how a first sync would go."""

from __future__ import annotations

from jira_simulator import Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run


def test_jira_projects_lists_the_site_pages_them_and_marks_tracked_ones(
    stack: LocalStack, connected_team: str, workspace: Workspace
):
    # When the team asks for its site's projects, two at a time
    code, _, first = stack.http("GET", "/jira/projects", team_id=TEAM, query={"max_results": "2"})
    assert code == 200, first
    code, _, rest = stack.http(
        "GET",
        "/jira/projects",
        team_id=TEAM,
        query={"start_at": str(first["next_start_at"]), "max_results": "50"},
    )
    assert code == 200 and rest["next_start_at"] is None

    # Then every project is listed once, with Jira's issue count, style and last update
    listed = first["projects"] + rest["projects"]
    assert [p["key"] for p in listed] == sorted(p.key for p in workspace.projects)
    for project in listed:
        truth = workspace.project(project["key"])
        assert truth is not None
        assert project["issue_count_estimate"] == workspace.issue_count(project["key"])
        assert project["style"] == ("team-managed" if truth.style == "next-gen" else "company-managed")
        assert project["tracked"] is False and project["first_sync"]["rate_basis"] == "assumed"

    # When OPS has synced, Then it is marked tracked and the others' estimates use the measured rate
    _run(stack, ["OPS"])
    code, _, after = stack.http("GET", "/jira/projects", team_id=TEAM)
    by_key = {p["key"]: p for p in after["projects"]}
    assert by_key["OPS"]["tracked"] is True and by_key["OPS"]["first_sync"] is None
    assert by_key["ALPHA"]["first_sync"]["rate_basis"] == "measured"


def test_jira_projects_needs_a_connection_and_valid_paging(stack: LocalStack, connected_team: str):
    code, _, body = stack.http("GET", "/jira/projects", team_id="team-without-jira")
    assert code == 409 and "connection" in body["message"]
    for query in ({"max_results": "0"}, {"max_results": "101"}, {"start_at": "-1"}, {"start_at": "x"}):
        code, _, body = stack.http("GET", "/jira/projects", team_id=TEAM, query=query)
        assert code == 400 and body["message"], query
