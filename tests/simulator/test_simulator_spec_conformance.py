"""Every endpoint answers in the documented shape and the tests send only documented parameters."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from jira_simulator import spec

PLATFORM_CASES = [
    ("GET", "/rest/api/3/myself", "/rest/api/3/myself", None),
    ("GET", "/rest/api/3/serverInfo", "/rest/api/3/serverInfo", None),
    ("GET", "/rest/api/3/field", "/rest/api/3/field", None),
    ("GET", "/rest/api/3/users/search?startAt=0&maxResults=100", "/rest/api/3/users/search", None),
    (
        "GET",
        "/rest/api/3/user/bulk?accountId={a0}&accountId={a1}&maxResults=1",
        "/rest/api/3/user/bulk",
        None,
    ),
    ("GET", "/rest/api/3/project/search?startAt=0&maxResults=2", "/rest/api/3/project/search", None),
    ("GET", "/rest/api/3/project/search?keys=ALPHA&keys=OPS&query=a", "/rest/api/3/project/search", None),
    ("GET", "/rest/api/3/project/search?expand=insight&maxResults=3", "/rest/api/3/project/search", None),
    ("GET", "/rest/api/3/project/ALPHA/versions", "/rest/api/3/project/{projectIdOrKey}/versions", None),
    ("GET", "/rest/api/3/project/GAMMA", "/rest/api/3/project/{projectIdOrKey}", None),
    (
        "GET",
        "/rest/api/3/issue/ALPHA-7?fields=*all&expand=changelog",
        "/rest/api/3/issue/{issueIdOrKey}",
        None,
    ),
    (
        "GET",
        "/rest/api/3/search/jql?jql=project%3DBETA&fields=summary,status&maxResults=20",
        "/rest/api/3/search/jql",
        None,
    ),
    (
        "POST",
        "/rest/api/3/search/jql",
        "/rest/api/3/search/jql",
        {
            "jql": "project = ALPHA ORDER BY key ASC",
            "fields": ["*all"],
            "maxResults": 30,
            "expand": "names,changelog",
        },
    ),
    ("POST", "/rest/api/3/search/jql", "/rest/api/3/search/jql", {"jql": "project = OPS"}),
    (
        "POST",
        "/rest/api/3/search/approximate-count",
        "/rest/api/3/search/approximate-count",
        {"jql": "project = ALPHA"},
    ),
    (
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        "/rest/api/3/changelog/bulkfetch",
        {
            "issueIdsOrKeys": ["ALPHA-3", "ALPHA-4", "10010"],
            "fieldIds": ["status", "customfield_10021"],
            "maxResults": 5,
        },
    ),
]

SOFTWARE_CASES = [
    ("GET", "/rest/agile/1.0/board?projectKeyOrId=ALPHA", "/rest/agile/1.0/board"),
    ("GET", "/rest/agile/1.0/board?type=scrum&startAt=1&maxResults=1", "/rest/agile/1.0/board"),
    ("GET", "/rest/agile/1.0/board/1", "/rest/agile/1.0/board/{boardId}"),
    ("GET", "/rest/agile/1.0/board/3/configuration", "/rest/agile/1.0/board/{boardId}/configuration"),
    ("GET", "/rest/agile/1.0/board/4/configuration", "/rest/agile/1.0/board/{boardId}/configuration"),
    (
        "GET",
        "/rest/agile/1.0/board/1/sprint?state=active,closed,future&startAt=0&maxResults=3",
        "/rest/agile/1.0/board/{boardId}/sprint",
    ),
    ("GET", "/rest/agile/1.0/sprint/2", "/rest/agile/1.0/sprint/{sprintId}"),
]


def _assert_documented(spec_name: str, method: str, path: str, template: str, body) -> None:
    assert spec.match_path(spec_name, path) == template
    allowed = spec.documented_query_params(spec_name, method, template)
    for name, _ in parse_qsl(urlsplit(path).query):
        assert name in allowed, f"test sends undocumented parameter {name}"
    if isinstance(body, dict):
        assert set(body) <= spec.documented_body_properties(spec_name, method, template)
    assert spec.undocumented_request_parts(method, path, body) == []


@pytest.mark.parametrize(("method", "path", "template", "body"), PLATFORM_CASES)
def test_simulator_platform_endpoints_match_spec(call, demo_ws, method, path, template, body):
    path = path.format(a0=demo_ws.users[3]["accountId"], a1=demo_ws.users[5]["accountId"])
    _assert_documented("platform", method, path, template, body)
    status, headers, data = call(method, path, body)
    assert status == 200, data
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    spec.validate_response("platform", method, template, status, data)


@pytest.mark.parametrize(("method", "path", "template"), SOFTWARE_CASES)
def test_simulator_agile_endpoints_match_spec(call, method, path, template):
    _assert_documented("software", method, path, template, None)
    status, _, data = call(method, path)
    assert status == 200, data
    spec.validate_response("software", method, template, status, data)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/rest/api/3/project/NOPE", 404),
        ("GET", "/rest/agile/1.0/board/99", 404),
        ("GET", "/rest/agile/1.0/board/4/sprint", 400),
        ("GET", "/rest/api/3/search?jql=project%3DALPHA", 410),
    ],
)
def test_simulator_error_statuses_are_documented(call, method, path, status):
    got, _, data = call(method, path)
    assert got == status
    assert data["errorMessages"] and data["errors"] == {}
    found = spec.find_operation(method, path)
    assert found is not None
    if status != 410:  # 410 came with the removal and is not in the (older) spec
        spec.response_schema(found[0], method, found[1], status)  # raises if undocumented


def test_simulator_spec_validator_catches_wrong_shapes():
    with pytest.raises(spec.SpecError):
        spec.validate_response("platform", "GET", "/rest/api/3/users/search", 200, [{"accountType": "robot"}])
    with pytest.raises(spec.SpecError):
        spec.validate_response("platform", "POST", "/rest/api/3/search/jql", 200, {"issues": [], "total": 3})
    # Hidden e-mails come back as null although the spec says string: allowed by default, not otherwise.
    spec.validate_response("platform", "GET", "/rest/api/3/users/search", 200, [{"emailAddress": None}])
    with pytest.raises(spec.SpecError):
        spec.validate_response(
            "platform", "GET", "/rest/api/3/users/search", 200, [{"emailAddress": None}], allow_null=()
        )


def test_simulator_spec_flags_undocumented_client_requests():
    problems = spec.undocumented_request_parts("GET", "/rest/api/3/users/search?startAt=0&limit=5")
    assert problems == ["query parameter 'limit' is not documented for GET /rest/api/3/users/search"]
    assert spec.undocumented_request_parts("POST", "/rest/api/3/search/jql", {"jql": "x", "startAt": 0})
    assert spec.undocumented_request_parts("GET", "/rest/api/3/nothing-here")


def test_simulator_issue_field_values_match_component_schemas(call, demo_ws):
    """Issue ``fields`` are free-form in IssueBean; check the main values against their components."""
    import jsonschema

    platform = spec.load_spec("platform")
    components = spec._components("platform", frozenset(spec.DEFAULT_ALLOW_NULL))
    checks = {
        "status": "StatusDetails",
        "issuetype": "IssueTypeDetails",
        "priority": "Priority",
        "assignee": "UserDetails",
        "reporter": "UserDetails",
        "project": "ProjectDetails",
        "resolution": "Resolution",
    }
    assert all(name in platform["components"]["schemas"] for name in checks.values())
    for issue in demo_ws.issues_by_project["BETA"][:40]:
        for field_id, schema_name in checks.items():
            value = issue["fields"][field_id]
            if value is None:
                continue
            schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
            jsonschema.Draft202012Validator(schema).validate(value)
