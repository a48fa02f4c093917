"""What the pipeline stores equals what Jira holds, for the things a sync most often gets wrong:
the field map (detected, never configured), story points in company- and team-managed projects,
boards with their estimation fields, sprints with dates and goals, a kanban project without sprints,
and the member-matching summary with the unmatched people on both sides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jira_onboarding.dal.team import TeamStores, dump_team

from jira_simulator import JiraSimulator, Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run


def _items(table: str) -> list[dict[str, Any]]:
    return [item for item in dump_team(TEAM) if item["table"] == table]


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    assert parsed.utcoffset() is not None, value
    return parsed


def test_pipeline_stores_detected_fields_boards_sprints_and_points_for_every_project_kind(
    stack: LocalStack, connected_team: str, workspace: Workspace, simulator: JiraSimulator
):
    # Given a site with a company-managed (ALPHA, BETA), a team-managed (GAMMA) and a kanban (OPS) project
    keys = [p.key for p in workspace.projects]

    # When the team onboards all of them
    run = _run(stack, keys)

    # Then every project is COMPLETE, the kanban one included
    assert run["status"] == "COMPLETE"
    assert {p["project_key"]: p["status"] for p in run["projects"]} == dict.fromkeys(keys, "COMPLETE")
    repo = TeamStores(TEAM)

    # and the field map was detected from the site's field list: gh-sprint is customfield_10021 here,
    # not the common 10020 (a date field) nor the decoy text field named like Sprint
    connection = repo.connection.get()
    assert connection is not None and connection.field_map is not None
    assert connection.field_map["sprint_field"] == workspace.sprint_field_id == "customfield_10021"
    assert set(connection.field_map["story_point_fields"]) == set(workspace.story_point_field_ids.values())
    assert len(simulator.calls("/rest/api/3/field")) >= 1

    # and each project uses its board's own estimation field
    for project in workspace.projects:
        tracked = repo.projects.get(project.key)
        assert tracked is not None
        assert tracked.estimation_field == project.story_point_field_id, project.key

    # and boards are stored with type, project and estimation field
    boards = {item["board_id"]: item for item in _items("jira_board")}
    for project in workspace.projects:
        board = boards[project.board_id]
        assert board["board_type"] == project.board_type
        assert board["project_key"] == project.key
        assert board["estimation_field"] == project.story_point_field_id

    # and sprints of every state, with their dates and goals, as the Agile API gives them
    stored_sprints = {int(item["sprint_id"]): item for item in _items("jira_sprint")}
    truth = {s["id"]: s for sprints in workspace.sprints.values() for s in sprints}
    assert set(stored_sprints) == set(truth)
    assert {s["state"] for s in stored_sprints.values()} == {"active", "closed", "future"}
    for sprint_id, raw in truth.items():
        stored = stored_sprints[sprint_id]
        assert int(stored["board_id"]) == raw["originBoardId"]
        assert stored["name"] == raw["name"]
        assert stored["state"] == raw["state"]
        assert (stored.get("goal") or "") == raw["goal"]
        for stored_key, raw_key in (
            ("start_date", "startDate"),
            ("end_date", "endDate"),
            ("complete_date", "completeDate"),
        ):
            assert _instant(stored.get(stored_key)) == _instant(raw.get(raw_key)), (sprint_id, stored_key)
    ops = workspace.project("OPS")
    assert ops is not None
    assert not [s for s in stored_sprints.values() if s.get("project_key") == "OPS"]
    assert not workspace.sprints.get(ops.board_id)

    # and story points and sprint ids of every issue, in both project kinds
    for project in workspace.projects:
        stored_issues = {item["issue_key"]: item for item in repo.issues.iter_items(project.key)}
        with_points = 0
        for raw in workspace.issues_by_project[project.key]:
            item = stored_issues[raw["key"]]
            points = raw["fields"].get(project.story_point_field_id)
            assert item.get("story_points") == (float(points) if points is not None else None), raw["key"]
            with_points += points is not None
            expected_sprints = sorted({s["id"] for s in raw["fields"].get(workspace.sprint_field_id) or []})
            assert sorted(int(s) for s in item.get("sprint_ids") or []) == expected_sprints, raw["key"]
            assert _instant(item["created"]) == _instant(raw["fields"]["created"])
            assert _instant(item["updated"]) == _instant(raw["fields"]["updated"])
        assert with_points > 0, project.key
        if project.board_type == "kanban":
            assert not any(item.get("sprint_ids") for item in stored_issues.values())

    # and the users summary names who is unmatched on both sides
    users = run["users"]
    # (no pull requests here: the members only their work can find stay unmatched, the two
    # "Alex Kim" ambiguous; tests/integration/test_match_by_evidence.py has them)
    assert users["unmatched_members"] == ["m14", "m15", "m17", "m18", "m19"]
    assert [a["member_id"] for a in users["ambiguous"]] == ["m04", "m16"]
    assert users["unmatched_jira_users"] == len(users["unmatched_jira_user_names"]) == 9
    assert "Omar Haddad" in users["unmatched_jira_user_names"]
    assert "Slack" not in users["unmatched_jira_user_names"]  # app accounts are stored, never matched
    assert users["skipped_jira_users"] == 4  # two apps, one customer, one inactive
