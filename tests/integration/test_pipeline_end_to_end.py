"""The real state machine on moto, end to end, against the Jira simulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jira_onboarding.dal.team import TeamStores

from jira_simulator import FaultPlan, JiraSimulator, Workspace
from tests.conftest import TEAM
from tests.conftest import select_and_wait as _run


def _expected_issue(raw: dict[str, Any], workspace: Workspace, style: str) -> dict[str, Any]:
    """What the store must hold for one simulator issue, read with the workspace's own ground truth
    (the field ids it generated), not through the code under test."""
    fields = raw["fields"]
    points_field = workspace.story_point_field_ids["jsw-story-points" if style == "next-gen" else "float"]
    points = fields.get(points_field)
    return {
        "issue_id": raw["id"],
        "project_key": fields["project"]["key"],
        "summary": fields["summary"],
        "status_category": fields["status"]["statusCategory"]["key"],
        "issue_type": fields["issuetype"]["name"],
        "assignee_account_id": (fields.get("assignee") or {}).get("accountId"),
        "reporter_account_id": (fields.get("reporter") or {}).get("accountId"),
        "created": datetime.fromisoformat(fields["created"]),
        "resolved": datetime.fromisoformat(fields["resolutiondate"])
        if fields.get("resolutiondate")
        else None,
        "labels": list(fields.get("labels") or []),
        "parent_key": (fields.get("parent") or {}).get("key"),
        "sprint_ids": sorted({s["id"] for s in fields.get(workspace.sprint_field_id) or []}),
        "story_points": float(points) if points is not None else None,
        "deleted": False,
        # releases and structure
        "structure": {
            "components": [c["name"] for c in fields["components"]],
            "fix_versions": [{"id": v["id"], "name": v["name"]} for v in fields["fixVersions"]],
            "resolution": (fields.get("resolution") or {}).get("name"),
            "due_date": fields.get("duedate"),
            "status_category_changed": datetime.fromisoformat(fields["statuscategorychangedate"]),
            "links": [
                {
                    "type": link["type"]["name"],
                    "direction": "outward" if "outwardIssue" in link else "inward",
                    "key": (link.get("outwardIssue") or link.get("inwardIssue"))["key"],
                }
                for link in fields["issuelinks"]
            ],
        },
    }


def _expected_releases(workspace: Workspace) -> dict[str, tuple[str, bool, int]]:
    """Per version of every project: its release date, whether released, and its done issues."""
    out = {}
    for project in workspace.projects:
        issues = workspace.issues_by_project[project.key]
        for version in workspace.project_versions(project.key):
            done = sum(
                1
                for raw in issues
                if raw["fields"]["status"]["statusCategory"]["key"] == "done"
                and any(v["id"] == version["id"] for v in raw["fields"]["fixVersions"])
            )
            out[version["id"]] = (version["releaseDate"], version["released"], done)
    return out


def test_pipeline_stores_exactly_the_simulator_workspace(stack, connected_team, workspace, simulator):
    # Given a team connected to the simulator, with its GitHub-side members
    keys = [p.key for p in workspace.projects]

    # When the team selects every project
    run = _run(stack, keys)

    # Then every project is COMPLETE and the store equals the workspace, field by field
    assert run["status"] == "COMPLETE"
    assert {p["project_key"]: p["status"] for p in run["projects"]} == dict.fromkeys(keys, "COMPLETE")
    repo = TeamStores(TEAM)
    styles = {p.key: p.style for p in workspace.projects}
    for key in keys:
        stored = {item["issue_key"]: item for item in repo.issues.iter_items(key)}
        truth = {raw["key"]: raw for raw in workspace.issues_by_project[key]}
        assert set(stored) == set(truth), key
        assert len(stored) == workspace.issue_count(key)
        for issue_key, raw in truth.items():
            expected = _expected_issue(raw, workspace, styles[key])
            actual = {name: stored[issue_key].get(name) for name in expected}
            actual["labels"] = actual["labels"] or []
            actual["sprint_ids"] = sorted(int(s) for s in actual["sprint_ids"] or [])
            actual["deleted"] = bool(actual["deleted"])
            changed = actual["structure"]["status_category_changed"]
            actual["structure"]["status_category_changed"] = datetime.fromisoformat(changed)
            assert actual == expected, issue_key
        progress = next(p for p in run["projects"] if p["project_key"] == key)
        assert progress["issues_stored"] == workspace.issue_count(key)
        tracked = repo.projects.get(key)
        assert tracked is not None and [
            (v["id"], v["name"], v["released"], v["release_date"]) for v in tracked.versions or []
        ] == [(v["id"], v["name"], v["released"], v["releaseDate"]) for v in workspace.project_versions(key)]

    # and the release metrics count each version's done issues as the workspace holds them
    code, _, metrics = stack.http("GET", "/jira/metrics", team_id=TEAM)
    assert code == 200
    releases = {
        v["version_id"]: (v["release_date"], v["released"], v["done_issues"])
        for v in metrics["releases"]["versions"]
    }
    assert releases == _expected_releases(workspace)
    assert metrics["releases"]["released_versions"] > 0
    assert metrics["releases"]["lead_time_days_median"] is not None

    # and every Jira user is stored, and the member matches are the workspace's expected ones
    stored_users = {u.account_id for u in repo.people.list_jira_users()}
    assert stored_users == {u["accountId"] for u in workspace.users}
    matches = {m.member_id: m.jira_account_id for m in repo.people.list_members()}
    assert matches == workspace.expected_matches
    assert run["users"]["users_fetched"] == len(workspace.users)


def test_failing_project_ends_failed_while_the_others_complete(
    stack, connected_team, workspace, simulator: JiraSimulator
):
    # Given Jira refuses every call about BETA
    simulator.faults = FaultPlan.fail_project("BETA", status=403)

    # When the team selects ALPHA, BETA and OPS
    run = _run(stack, ["ALPHA", "BETA", "OPS"])

    # Then BETA is FAILED with a reason a person understands and a retry time; the others COMPLETE
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key["BETA"]["status"] == "FAILED"
    assert "no access" in by_key["BETA"]["reason"].lower()
    assert by_key["BETA"]["next_retry_at"]
    assert by_key["ALPHA"]["status"] == "COMPLETE"
    assert by_key["OPS"]["status"] == "COMPLETE"
    assert run["status"] == "COMPLETE_WITH_FAILURES"
    repo = TeamStores(TEAM)
    assert repo.issues.count("ALPHA") == workspace.issue_count("ALPHA")
    assert repo.issues.count("BETA") == 0
    # and the failure was not retried into a storm: a 403 is not transient. Planning found it, so
    # BETA never got a sync step, and planning ran once.
    assert not [
        i
        for i in stack.invocations
        if i.function == "SyncSegmentFunction" and i.event.get("project_key") == "BETA"
    ]
    assert [i.error for i in stack.invocations if i.function == "PlanSyncFunction"] == [None]


def test_users_failure_does_not_block_projects(stack, connected_team, workspace, simulator: JiraSimulator):
    # Given the user list answers 403 (the token lacks the user scope)
    simulator.faults = FaultPlan.script(
        [("/rest/api/3/users/search", __import__("jira_simulator").Fault.status(403))]
    )

    run = _run(stack, ["OPS"])

    assert run["projects"][0]["status"] == "COMPLETE"
    assert run["users_error"]
    assert run["status"] == "COMPLETE"
