"""Endpoints third-party clients call: the deprecated `GET /rest/api/3/project` (a bare array),
`GET /rest/api/3/user/search` (users by prefix) and `GET /rest/api/2/project/search` (v3's shape)."""

from __future__ import annotations

import pytest

from jira_simulator import spec
from tests.simulator.test_simulator_spec_conformance import _assert_documented


def test_project_list_v3_is_a_bare_array_of_every_project_in_the_spec_shape(call, demo_ws):
    path = "/rest/api/3/project"
    _assert_documented("platform", "GET", path, path, None)
    status, _, data = call("GET", path)
    assert status == 200
    assert [p["key"] for p in data] == [p.key for p in demo_ws.projects]
    spec.validate_response("platform", "GET", path, status, data)


def test_project_search_v2_answers_the_v3_page_with_its_own_self_links(call, demo_ws):
    status, _, data = call("GET", "/rest/api/2/project/search?startAt=1&maxResults=2")
    assert status == 200
    assert [p["key"] for p in data["values"]] == [p.key for p in demo_ws.projects[1:3]]
    assert data["self"].startswith("https://acme-sim.atlassian.net/rest/api/2/project/search?")
    assert "/rest/api/2/project/search" in data.get("nextPage", "/rest/api/2/project/search")
    # v2 and v3 answer alike; the v3 spec is the only one in the repository.
    spec.validate_response("platform", "GET", "/rest/api/3/project/search", status, data)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("maria", ["Maria Garcia"]),  # display name prefix, any case
        ("garc", ["Maria Garcia"]),  # a later word of the name
        ("kpatel", ["Kiran Patel"]),  # e-mail prefix
        ("zzz-nobody", []),
    ],
)
def test_user_search_finds_active_users_by_name_or_email_prefix(call, query, expected):
    path = f"/rest/api/3/user/search?query={query}&startAt=0&maxResults=50"
    _assert_documented("platform", "GET", path, "/rest/api/3/user/search", None)
    status, _, data = call("GET", path)
    assert status == 200
    assert [u["displayName"] for u in data] == expected
    spec.validate_response("platform", "GET", "/rest/api/3/user/search", status, data)


def test_user_search_pages_with_start_at_and_skips_inactive_users(call, demo_ws):
    everyone = [u for u in demo_ws.users if u["active"] and u["displayName"].lower().startswith("a")]
    assert any(not u["active"] for u in demo_ws.users)
    _, _, first = call("GET", "/rest/api/3/user/search?query=a&maxResults=2")
    _, _, rest = call("GET", "/rest/api/3/user/search?query=a&startAt=2&maxResults=50")
    found = [u["accountId"] for u in first + rest]
    assert len(first) == min(2, len(found))
    assert {u["accountId"] for u in everyone} <= set(found)
    assert all(demo_ws.user(a)["active"] for a in found)


def test_user_search_by_account_id_and_without_a_query_is_400(call, demo_ws):
    account_id = demo_ws.users[3]["accountId"]
    status, _, data = call("GET", f"/rest/api/3/user/search?accountId={account_id}")
    assert status == 200 and [u["accountId"] for u in data] == [account_id]
    status, _, data = call("GET", "/rest/api/3/user/search")
    assert status == 400 and data["errorMessages"]
    spec.response_schema("platform", "GET", "/rest/api/3/user/search", 400)  # documented
