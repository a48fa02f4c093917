"""Every real recorded Jira response in shared/jira-fixtures goes through the parsing code.

One test per file, parametrized over the directory listing: a new file gets a test (the generic
check) until someone writes the concrete one. Each concrete check asserts values read from its file,
through the same functions and client calls the sync uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import (
    FieldChange,
    FieldMap,
    JiraBoard,
    JiraField,
    JiraSprint,
    JiraUser,
    SearchPage,
    parse_issue,
)
from jira_onboarding.logic.people.matching import is_matchable, normalise_email

from tests.conftest import FIXTURES_DIR

GO_ATLASSIAN = "ctreminiom+go-atlassian__jira__"
GO_JIRA = "andygrunwald+go-jira__testing__mock-data__"
FAROS = "faros-ai+airbyte-connectors__sources__jira-source__test__resources__"
DEMISTO = "demisto+content__Packs__Jira__Integrations__JiraV3__test_data__"

FIELDS_FILE = f"{GO_ATLASSIAN}v3__mocks__get-fields.json"


def _fixture_files() -> list[str]:
    return sorted(p.name for p in FIXTURES_DIR.glob("*.json")) if FIXTURES_DIR.is_dir() else []


def _load(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8"))


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _aware_at(value: datetime | None, instant: datetime) -> None:
    assert value is not None
    assert value.tzinfo is not None and value.utcoffset() is not None
    assert value == instant


def _cloud_field_map() -> FieldMap:
    """The field map of the go-atlassian Cloud site, detected from its own recorded field list."""
    return FieldMap.detect([JiraField.model_validate(f) for f in _load(FIELDS_FILE)])


def _client_answering(pages: dict[str, list[Any]], seen: list[httpx.Request]) -> JiraClient:
    """A JiraClient whose transport answers each path with the next body queued for it."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        queue = pages.get(request.url.path)
        if not queue:
            return httpx.Response(404, json={"errorMessages": [f"no fixture for {request.url.path}"]})
        return httpx.Response(200, json=queue.pop(0))

    http = httpx.Client(base_url="https://fixture.atlassian.net", transport=httpx.MockTransport(handler))
    return JiraClient(http, sleep=lambda _s: None)


# ---- concrete checks, one per recorded file ------------------------------------------------


def check_status_categories(data: Any) -> None:
    # Every category key a status can carry lands on the issue as Jira names it.
    keys = []
    for category in data:
        raw = {"id": "1", "key": "X-1", "fields": {"status": {"name": "S", "statusCategory": category}}}
        keys.append(parse_issue(raw, FieldMap()).status_category)
    assert keys == ["undefined", "new", "indeterminate", "done"]


def check_issues_in_sprint(data: Any) -> None:
    # 2015-era v2 payload: username/key users, no accountId, points in customfield_10105.
    (raw,) = data["issues"]
    issue = parse_issue(raw, FieldMap(), estimation_field="customfield_10105")
    assert issue.key == "AR-86"
    assert issue.project_key == "AR"
    assert issue.story_points == 13.0
    assert issue.status_category == "new"
    assert issue.issue_type == "Task"
    # No accountId exists in this era: the username is the only identity there is.
    assert issue.assignee_account_id == "mister.morris"
    assert issue.reporter_account_id is None
    _aware_at(issue.created, _utc(2015, 12, 2, 15, 39, 15))
    _aware_at(issue.resolved, _utc(2015, 12, 7, 22, 19, 13))
    assert issue.sprint_ids == ()


def check_server_sprints(data: Any) -> None:
    sprints = [JiraSprint.model_validate(v) for v in data["values"]]
    assert [s.id for s in sprints] == [740, 776, 807, 832, 845, 846]
    assert [s.state for s in sprints] == ["closed", "closed", "closed", "active", "future", "future"]
    assert {s.board_id for s in sprints} == {734}
    first = sprints[0]
    # "-07:00" offsets: aware, and the same instant as in UTC
    _aware_at(first.start_date, _utc(2016, 4, 11, 14, 29, 3, 294000))
    _aware_at(first.end_date, _utc(2016, 4, 27, 15, 29))
    _aware_at(first.complete_date, _utc(2016, 4, 28, 12, 8, 48, 543000))
    assert sprints[3].complete_date is None
    assert sprints[4].start_date is None and sprints[4].goal is None
    assert sprints[5].goal == "My Goal"


def check_jira_cli_search(data: Any) -> None:
    page = SearchPage.model_validate(data)
    assert page.is_last is True
    assert page.next_page_token is None
    issues = [parse_issue(raw, FieldMap()) for raw in page.issues]
    assert [i.key for i in issues] == ["TEST-1", "TEST-2", "TEST-3"]
    assert [i.issue_type for i in issues] == ["Bug", "Story", "Task"]
    assert issues[1].labels == ("critical", "feature")
    assert {i.project_key for i in issues} == {"TEST"}
    # users carry only a display name here: no identity is invented
    assert {i.assignee_account_id for i in issues} == {None}
    assert {i.reporter_account_id for i in issues} == {None}
    _aware_at(issues[0].created, _utc(2020, 12, 3, 13, 5, 20, 974000))


def check_board_config(data: Any) -> None:
    seen: list[httpx.Request] = []
    client = _client_answering({"/rest/agile/1.0/board/4/configuration": [data]}, seen)
    assert client.board_estimation_field(4) == "customfield_10036"
    assert data["estimation"]["field"]["displayName"] == "Story Points"


def check_board_sprints(data: Any) -> None:
    seen: list[httpx.Request] = []
    client = _client_answering({"/rest/agile/1.0/board/4/sprint": [data]}, seen)
    (sprint,) = client.sprints(JiraBoard(id=4, name="KP - Scrum", type="scrum"))
    assert (sprint.id, sprint.name, sprint.state, sprint.board_id) == (4, "KP Sprint 3", "future", 4)
    assert sprint.start_date is None and sprint.end_date is None
    assert len(seen) == 1  # isLast: true ends the paging


def check_board(data: Any) -> None:
    board = JiraBoard.from_payload(data)
    assert (board.id, board.name, board.type, board.project_key) == (4, "KP - Scrum", "scrum", "KP")


def check_issues_by_sprint(data: Any) -> None:
    issues = [parse_issue(raw, _cloud_field_map()) for raw in data["issues"]]
    assert [i.key for i in issues] == ["KP-17", "KP-18"]
    assert {i.issue_type for i in issues} == {"IT Help"}
    assert {i.status_category for i in issues} == {"new"}
    changes = [
        FieldChange.model_validate({"at": h["created"], "from": item.get("from"), "to": item.get("to")})
        for raw in data["issues"]
        for h in raw["changelog"]["histories"]
        for item in h["items"]
    ]
    assert changes
    assert all(c.at.utcoffset() is not None for c in changes)


def check_sprint_issues(data: Any) -> None:
    field_map = _cloud_field_map()
    issues = [parse_issue(raw, field_map) for raw in data["issues"]]
    assert [i.key for i in issues] == ["KP-10", "KP-11", "KP-12", "KP-9", "KP-8", "KP-5"]
    assert {i.sprint_ids for i in issues} == {(2,)}
    # The Agile API also gives `fields.sprint` (originBoardId) next to the custom field (boardId).
    agile = JiraSprint.model_validate(data["issues"][0]["fields"]["sprint"])
    from_field = JiraSprint.from_issue_value(data["issues"][0]["fields"]["customfield_10020"][0])
    assert agile.id == from_field.id == 2
    assert agile.board_id == from_field.board_id == 4
    assert from_field.goal == "Sprint XX goal-Updated"
    _aware_at(from_field.start_date, _utc(2020, 4, 11, 5, 22))
    assert agile.end_date == from_field.end_date == _utc(2021, 4, 19, 15, 22)


def check_fields(data: Any) -> None:
    field_map = FieldMap.detect([JiraField.model_validate(f) for f in data])
    assert len(data) == 81
    assert field_map.sprint_field == "customfield_10020"
    assert set(field_map.story_point_fields) == {"customfield_10016", "customfield_10036"}
    assert field_map.epic_link_field == "customfield_10014"
    requested = field_map.issue_fields()
    assert {"customfield_10020", "customfield_10016", "customfield_10036"} <= set(requested)


def check_get_issue(data: Any) -> None:
    issue = parse_issue(data, _cloud_field_map())
    assert (issue.id, issue.key, issue.project_key) == ("10032", "KP-19", "KP")
    assert issue.parent_key == "KP-16"  # through the Epic Link field
    assert issue.labels == ("test",)
    assert issue.reporter_account_id == "5b86be50b8e3cb5895860d6d"
    assert issue.assignee_account_id is None
    assert issue.status_category == "new"
    _aware_at(issue.created, _utc(2021, 5, 8, 6, 4, 25, 376000))
    _aware_at(issue.updated, _utc(2021, 11, 18, 0, 18, 29, 845000))


SEARCH_SPRINTS = {"KP-18": (4,), "KP-17": (4,), "KP-11": (3,), "KP-10": (3,), "KP-4": (3,), "KP-3": (3,)}


def check_search_issues(data: Any) -> None:
    issues = {i.key: i for i in (parse_issue(raw, _cloud_field_map()) for raw in data["issues"])}
    assert len(issues) == 18
    assert {k: i.sprint_ids for k, i in issues.items() if i.sprint_ids} == SEARCH_SPRINTS
    # story points from the company-managed "Story Points" float field
    assert {k: i.story_points for k, i in issues.items() if i.story_points is not None} == {"KP-1": 111.0}
    assert issues["KP-1"].assignee_account_id == "5b86be50b8e3cb5895860d6d"
    assert {i.reporter_account_id for i in issues.values()} == {"5b86be50b8e3cb5895860d6d"}
    assert {k for k, i in issues.items() if i.status_category == "done"} == {"KP-1", "KP-2", "KP-7"}
    assert {k for k, i in issues.items() if i.is_subtask} == {"KP-13", "KP-14", "KP-15"}
    assert {issues[k].parent_key for k in ("KP-13", "KP-14", "KP-15")} == {"KP-2"}
    assert {issues[k].parent_key for k in ("KP-17", "KP-18", "KP-19")} == {"KP-16"}
    assert issues["KP-16"].issue_type == "Epic"
    assert issues["KP-7"].labels == ("blocker", "triaged", "triaged-1", "triaged-2")
    _aware_at(issues["KP-7"].resolved, _utc(2021, 4, 30, 1, 1, 9, 82000))
    _aware_at(issues["KP-19"].created, _utc(2021, 5, 8, 6, 4, 25, 376000))
    _aware_at(issues["KP-12"].created, _utc(2021, 2, 27, 8, 39, 10, 46000))


def check_cloud_board_sprints_page(data: Any) -> None:
    # `isLast: false`: the client asks for the next page and stops at the empty one.
    seen: list[httpx.Request] = []
    empty = {"maxResults": 2, "startAt": 2, "isLast": True, "values": []}
    client = _client_answering({"/rest/agile/1.0/board/12/sprint": [data, empty]}, seen)
    sprints = client.sprints(JiraBoard(id=12, type="scrum"))
    assert [(s.id, s.state, s.goal) for s in sprints] == [(4, "active", ""), (5, "future", "Goal")]
    _aware_at(sprints[0].start_date, _utc(2023, 2, 13, 15, 12, 39, 565000))
    _aware_at(sprints[1].end_date, _utc(2023, 2, 23, 14, 57))
    assert [r.url.params["startAt"] for r in seen] == ["0", "2"]


def check_user_search_hidden_email(data: Any) -> None:
    (user,) = [JiraUser.model_validate(u) for u in data]
    assert data[0]["emailAddress"] == ""
    assert user.email_address is None  # "" hidden by privacy settings reads as no email
    assert normalise_email(user.email_address) is None
    assert (user.account_id, user.display_name, user.account_type) == ("1234", "Fred F. User", "atlassian")
    assert is_matchable(user)


def check_faros_issues(data: Any) -> None:
    issues = {i.key: i for i in (parse_issue(raw, _cloud_field_map()) for raw in data)}
    assert list(issues) == ["TEST-1", "TEST-2", "TEST-3", "TEST-4"]
    # `{}` and null in the sprint field are "no sprint"; the list holds every sprint ever joined
    assert issues["TEST-1"].sprint_ids == issues["TEST-2"].sprint_ids == ()
    assert issues["TEST-3"].sprint_ids == (15, 16, 18, 19, 20, 23, 55, 66)
    assert issues["TEST-1"].assignee_account_id == "1234:aaaaa-1234-1234-bbbb-123456785"
    # -0700 and -0800 offsets: aware and the same instants as in UTC
    _aware_at(issues["TEST-3"].created, _utc(2021, 9, 16, 22, 42, 13, 869000))
    _aware_at(issues["TEST-3"].updated, _utc(2024, 3, 8, 17, 59, 28, 167000))


def check_faros_users(data: Any) -> None:
    seen: list[httpx.Request] = []
    client = _client_answering({"/rest/api/3/users/search": [data, []]}, seen)
    users = [u for page in client.iter_user_pages() for u in page]
    assert len(users) == 5
    assert sorted(u.display_name for u in users if u.account_type == "app") == [
        "Automation for Jira",
        "Jira Outlook",
        "Slack",
    ]
    assert [u.display_name for u in users if not u.active] == ["User 2"]
    assert {u.email_address for u in users} == {None}
    assert [u.display_name for u in users if is_matchable(u)] == ["User 1"]
    assert len(seen) == 2  # paged until the empty page


CHECKS: dict[str, Callable[[Any], None]] = {
    f"{GO_JIRA}all_statuscategories.json": check_status_categories,
    f"{GO_JIRA}issues_in_sprint.json": check_issues_in_sprint,
    f"{GO_JIRA}sprints.json": check_server_sprints,
    "ankitpokhrel+jira-cli__pkg__jira__testdata__search.json": check_jira_cli_search,
    f"{GO_ATLASSIAN}mocks__get-board-config.json": check_board_config,
    f"{GO_ATLASSIAN}mocks__get-board-sprints.json": check_board_sprints,
    f"{GO_ATLASSIAN}mocks__get-board.json": check_board,
    f"{GO_ATLASSIAN}mocks__get-issues-by-sprint.json": check_issues_by_sprint,
    f"{GO_ATLASSIAN}mocks__get-sprint-issues.json": check_sprint_issues,
    FIELDS_FILE: check_fields,
    f"{GO_ATLASSIAN}v3__mocks__get-issue.json": check_get_issue,
    f"{GO_ATLASSIAN}v3__mocks__search-issues.json": check_search_issues,
    f"{DEMISTO}get_board_sprints_test__raw_response.json": check_cloud_board_sprints_page,
    f"{DEMISTO}get_id_by_attribute_test__raw_response_cloud.json": check_user_search_hidden_email,
    f"{FAROS}issues__issues.json": check_faros_issues,
    f"{FAROS}users__users.json": check_faros_users,
}


def check_unknown_shape(data: Any) -> None:
    """A file nobody wrote a check for yet: it must at least parse by its shape."""
    items = data if isinstance(data, list) else data.get("issues") or data.get("values") or [data]
    field_map = _cloud_field_map()
    for item in items:
        if not isinstance(item, dict):
            continue
        if "fields" in item and "key" in item:
            parse_issue(item, field_map)
        elif "accountId" in item:
            JiraUser.model_validate(item)
        elif "state" in item and "id" in item:
            JiraSprint.model_validate(item)
        elif "schema" in item or "clauseNames" in item:
            JiraField.model_validate(item)


@pytest.mark.parametrize("name", _fixture_files())
def test_recorded_response_parses_to_its_known_values(name: str) -> None:
    # Given one recorded response; When it goes through the parsing code; Then its values come out
    CHECKS.get(name, check_unknown_shape)(_load(name))


def test_every_named_fixture_is_in_the_directory() -> None:
    if not FIXTURES_DIR.is_dir():
        pytest.skip(f"no fixtures directory at {FIXTURES_DIR} (set JIRA_FIXTURES_DIR)")
    missing = sorted(set(CHECKS) - set(_fixture_files()))
    assert not missing, f"renamed or removed fixtures: {missing}"
