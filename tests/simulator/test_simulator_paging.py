"""Paging walks reach exactly the ground truth; tokens and limits behave like Jira."""

from __future__ import annotations

import pytest

from jira_simulator import JiraSimulator, build_workspace

from .conftest import make_call

SEARCH = "/rest/api/3/search/jql"


def walk(call, jql: str, fields: list[str] | None = None, page: int = 50) -> tuple[list[dict], int]:
    body: dict = {"jql": jql, "maxResults": page}
    if fields is not None:
        body["fields"] = fields
    issues, pages = [], 0
    while True:
        status, _, data = call("POST", SEARCH, body)
        assert status == 200, data
        pages += 1
        issues += data["issues"]
        if data["isLast"]:
            assert data.get("nextPageToken") is None
            return issues, pages
        body["nextPageToken"] = data["nextPageToken"]


@pytest.mark.parametrize("key", ["ALPHA", "BETA", "GAMMA", "OPS"])
@pytest.mark.parametrize("page", [50, 100])
def test_simulator_search_jql_walk_reaches_ground_truth(call, demo_ws, key, page):
    issues, pages = walk(call, f"project = {key} ORDER BY key ASC", ["summary", "updated"], page)
    keys = [i["key"] for i in issues]
    assert len(keys) == len(set(keys)) == demo_ws.issue_count(key)
    assert keys == [i["key"] for i in demo_ws.issues_by_project[key]]
    assert pages == -(-demo_ws.issue_count(key) // page)


def test_simulator_search_default_fields_are_id_key_self(call):
    _, _, data = call("POST", SEARCH, {"jql": 'project = "BETA"'})
    assert set(data["issues"][0]) == {"id", "key", "self"}
    assert len(data["issues"]) == 50


def test_simulator_search_caps_page_size(call):
    _, _, ids_only = call("POST", SEARCH, {"jql": "project = ALPHA", "fields": ["id"], "maxResults": 9999})
    assert len(ids_only["issues"]) == 120 and ids_only["isLast"]
    _, _, with_fields = call(
        "POST", SEARCH, {"jql": "project = ALPHA", "fields": ["*all"], "maxResults": 500}
    )
    assert len(with_fields["issues"]) == 100 and not with_fields["isLast"]


def test_simulator_search_get_variant_and_field_exclusion(call, demo_ws):
    status, _, data = call("GET", SEARCH + "?jql=project%20%3D%20GAMMA&fields=*all,-description&maxResults=5")
    assert status == 200
    fields = data["issues"][0]["fields"]
    assert "description" not in fields and demo_ws.sprint_field_id in fields


def test_simulator_search_filters_by_dates_and_orders(call, demo_ws):
    created, _ = walk(
        call,
        'project = ALPHA AND created >= "2026-10-01 00:00" AND created < "2026-10-15" ORDER BY created ASC',
        ["created"],
    )
    expected = [
        i
        for i in demo_ws.issues_by_project["ALPHA"]
        if "2026-10-01" <= _utc_day(i["fields"]["created"]) < "2026-10-15"
    ]
    assert [i["key"] for i in created] == [i["key"] for i in expected] and expected
    updated, _ = walk(
        call, 'project = BETA AND updated >= "2026-10-20 00:00" ORDER BY key DESC', ["updated"], 7
    )
    assert [i["key"] for i in updated] == sorted((i["key"] for i in updated), key=lambda k: -int(k[5:]))
    assert all(_utc_day(i["fields"]["updated"]) >= "2026-10-20" for i in updated)
    _, _, count = call(
        "POST",
        "/rest/api/3/search/approximate-count",
        {"jql": 'project = BETA AND updated >= "2026-10-20 00:00"'},
    )
    assert count["count"] == len(updated)


def test_simulator_search_key_ranges_partition_a_project(call, demo_ws):
    low, _ = walk(call, "project = ALPHA AND key <= ALPHA-60")
    high, _ = walk(call, "project = ALPHA AND key > ALPHA-60")
    assert len(low) == 60 and len(low) + len(high) == demo_ws.issue_count("ALPHA")


def _utc_day(value: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d")


def test_simulator_next_page_token_is_bound_to_its_query(call):
    _, _, first = call("POST", SEARCH, {"jql": "project = ALPHA", "maxResults": 10})
    token = first["nextPageToken"]
    status, _, data = call("POST", SEARCH, {"jql": "project = BETA", "nextPageToken": token})
    assert status == 400 and "token" in data["errorMessages"][0]
    status, _, _ = call("POST", SEARCH, {"jql": "project = ALPHA", "nextPageToken": "garbage!!"})
    assert status == 400


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("", "Unbounded JQL queries are not allowed here"),
        ("assignee = currentUser()", "Field 'assignee' does not exist"),
        ("project = ALPHA OR project = BETA", "only AND"),
        ('project = ALPHA AND updated >= "yesterday"', "Date value 'yesterday'"),
    ],
)
def test_simulator_search_rejects_unsupported_jql(call, jql, message):
    status, _, data = call("POST", SEARCH, {"jql": jql})
    assert status == 400
    assert message in data["errorMessages"][0]


def test_simulator_search_rejects_unknown_body_fields(call):
    status, _, data = call("POST", SEARCH, {"jql": "project = ALPHA", "startAt": 50})
    assert status == 400 and "startAt" in data["errorMessages"][0]


def test_simulator_deleted_and_updated_issues(demo_ws):
    ws = build_workspace(seed=1)
    call = make_call(JiraSimulator(ws))
    _, _, first = call("POST", SEARCH, {"jql": "project = OPS ORDER BY key ASC", "maxResults": 10})
    ws.delete_issue("OPS-11")  # deleted between pages: the walk must not skip OPS-12
    ws.update_issue("OPS-3", summary="Changed")
    rest = []
    body = {
        "jql": "project = OPS ORDER BY key ASC",
        "maxResults": 10,
        "nextPageToken": first["nextPageToken"],
    }
    while True:
        _, _, page = call("POST", SEARCH, body)
        rest += page["issues"]
        if page["isLast"]:
            break
        body["nextPageToken"] = page["nextPageToken"]
    keys = [i["key"] for i in first["issues"] + rest]
    assert "OPS-11" not in keys and "OPS-12" in keys and len(keys) == 39 == ws.issue_count("OPS")
    recent, _ = walk(call, 'project = OPS AND updated >= "2026-11-01 09:00"', ["summary"])
    assert [i["key"] for i in recent] == ["OPS-3"] and recent[0]["fields"]["summary"] == "Changed"
    assert demo_ws.issue_count("OPS") == 40  # the shared workspace is untouched


def test_simulator_users_pages_end_with_empty_page(call, demo_ws):
    seen, start = [], 0
    while True:
        status, _, page = call("GET", f"/rest/api/3/users/search?startAt={start}&maxResults=10")
        assert status == 200 and isinstance(page, list)
        if not page:
            break
        seen += page
        start += len(page)
    assert [u["accountId"] for u in seen] == [u["accountId"] for u in demo_ws.users]
    _, _, capped = call("GET", "/rest/api/3/users/search?maxResults=5000")
    assert len(capped) == len(demo_ws.users)


def test_simulator_user_bulk_and_project_search_page(call, demo_ws):
    ids = "&".join(f"accountId={u['accountId']}" for u in demo_ws.users[:7])
    _, _, page = call("GET", f"/rest/api/3/user/bulk?{ids}&maxResults=5")
    assert page["total"] == 7 and len(page["values"]) == 5 and not page["isLast"] and "nextPage" in page
    _, _, projects = call("GET", "/rest/api/3/project/search?maxResults=3")
    assert projects["total"] == 4 and [p["key"] for p in projects["values"]] == ["ALPHA", "BETA", "GAMMA"]
    _, _, rest = call("GET", "/rest/api/3/project/search?maxResults=3&startAt=3")
    assert [p["key"] for p in rest["values"]] == ["OPS"] and rest["isLast"]


def test_simulator_agile_paging_and_kanban_sprints(call, demo_ws):
    _, _, boards = call("GET", "/rest/agile/1.0/board?projectKeyOrId=OPS")
    assert [(b["id"], b["type"]) for b in boards["values"]] == [(4, "kanban")]
    status, _, data = call("GET", "/rest/agile/1.0/board/4/sprint")
    assert status == 400 and data["errorMessages"] == ["The board does not support sprints"]
    sprints, start = [], 0
    while True:
        _, _, page = call("GET", f"/rest/agile/1.0/board/1/sprint?startAt={start}&maxResults=3")
        sprints += page["values"]
        start += len(page["values"])
        if page["isLast"]:
            break
    assert sprints == demo_ws.sprints[1]
    _, _, active = call("GET", "/rest/agile/1.0/board/2/sprint?state=active")
    assert [s["state"] for s in active["values"]] == ["active"]


def test_simulator_old_search_is_gone(call):
    for method in ("GET", "POST"):
        status, _, data = call(
            method, "/rest/api/3/search", {"jql": "project = ALPHA"} if method == "POST" else None
        )
        assert status == 410 and "CHANGE-2046" in data["errorMessages"][0]


def test_simulator_large_paging_cap_of_5000(demo_ws):
    from jira_simulator import ProjectSpec, WorkspaceSize

    size = WorkspaceSize(projects=(ProjectSpec("BIG", "Big", "classic", "scrum", 6200),), users=30)
    ws = build_workspace(seed=3, size=size)
    call = make_call(JiraSimulator(ws))
    issues, pages = walk(call, "project = BIG", ["id"], page=5000)
    assert pages == 2 and len({i["id"] for i in issues}) == 6200


def test_simulator_v2_legacy_search_pages_with_start_at(call, demo_ws):
    keys, start = [], 0
    while True:
        status, _, page = call("GET", f"/rest/api/2/search?jql=project%3DBETA&startAt={start}&maxResults=30")
        assert status == 200 and page["total"] == demo_ws.issue_count("BETA")
        keys += [i["key"] for i in page["issues"]]
        start += len(page["issues"])
        if start >= page["total"]:
            break
    assert keys == [i["key"] for i in demo_ws.issues_by_project["BETA"]]
    assert "summary" in page["issues"][0]["fields"]
    _, _, projects = call("GET", "/rest/api/2/project")
    assert [p["key"] for p in projects] == ["ALPHA", "BETA", "GAMMA", "OPS"]
    assert call("GET", "/rest/api/2/field")[2] == demo_ws.fields
