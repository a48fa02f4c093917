"""Field discovery: sprint and story-point fields are found by `schema.custom`, never by a hard-coded
id or by name; a board's own estimation field wins over the site-wide candidates."""

from __future__ import annotations

import pytest
from jira_onboarding.jira.models import (
    FLOAT_FIELD_TYPE,
    SPRINT_FIELD_TYPE,
    STORY_POINTS_FIELD_TYPE,
    FieldMap,
    JiraField,
    parse_issue,
)

from jira_simulator import Workspace


def _field(fid: str, name: str, custom: str | None) -> JiraField:
    schema = {"type": "any", "custom": custom} if custom else {"type": "string", "system": fid}
    return JiraField.model_validate({"id": fid, "name": name, "custom": bool(custom), "schema": schema})


def _sim_field_map(workspace: Workspace) -> FieldMap:
    return FieldMap.detect([JiraField.model_validate(f) for f in workspace.fields])


def test_field_map_detects_the_simulator_sprint_field_by_schema_not_by_id_or_name(workspace: Workspace):
    field_map = _sim_field_map(workspace)

    # customfield_10020 is a date field here and 10040 a text field named like Sprint: both ignored
    assert field_map.sprint_field == workspace.sprint_field_id == "customfield_10021"
    assert set(field_map.story_point_fields) == set(workspace.story_point_field_ids.values())
    assert "customfield_10040" not in field_map.issue_fields()
    assert "customfield_10020" not in field_map.issue_fields()


def test_field_map_reads_translated_names_by_schema_type():
    # Given a German site: names are translated, schema types are not
    fields = [
        _field("summary", "Zusammenfassung", None),
        _field("customfield_10018", "Sprints", SPRINT_FIELD_TYPE),
        _field("customfield_10026", "Schätzung der Story-Points", STORY_POINTS_FIELD_TYPE),
        _field("customfield_10099", "Sprint", "com.atlassian.jira.plugin.system.customfieldtypes:textfield"),
    ]

    field_map = FieldMap.detect(fields)

    assert field_map.sprint_field == "customfield_10018"
    assert field_map.story_point_fields == ("customfield_10026",)


def test_field_map_takes_a_float_field_only_when_it_is_the_story_points_field():
    fields = [
        _field("customfield_10050", "Business value", FLOAT_FIELD_TYPE),
        _field("customfield_10036", "Story Points", FLOAT_FIELD_TYPE),
    ]
    assert FieldMap.detect(fields).story_point_fields == ("customfield_10036",)


def test_field_map_prefers_the_jsw_field_over_the_float_fallback():
    fields = [
        _field("customfield_10036", "Story Points", FLOAT_FIELD_TYPE),
        _field("customfield_10016", "Story point estimate", STORY_POINTS_FIELD_TYPE),
    ]
    assert FieldMap.detect(fields).story_point_fields == ("customfield_10016", "customfield_10036")


def test_parse_issue_prefers_the_board_estimation_field():
    # Given an issue with a value in both candidate fields
    field_map = FieldMap(story_point_fields=("customfield_10016", "customfield_10036"))
    raw = {"id": "1", "key": "A-1", "fields": {"customfield_10016": 3, "customfield_10036": 8}}

    assert parse_issue(raw, field_map).story_points == 3.0
    assert parse_issue(raw, field_map, estimation_field="customfield_10036").story_points == 8.0


def test_parse_issue_falls_back_when_the_estimation_field_is_empty():
    field_map = FieldMap(story_point_fields=("customfield_10016",))
    raw = {"id": "1", "key": "A-1", "fields": {"customfield_10036": None, "customfield_10016": 5}}
    assert parse_issue(raw, field_map, estimation_field="customfield_10036").story_points == 5.0


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (0.5, 0.5), ("3", 3.0), (None, None), ("", None), (True, None)]
)
def test_parse_issue_story_point_values(value: object, expected: float | None):
    raw = {"id": "1", "key": "A-1", "fields": {"customfield_10016": value}}
    assert parse_issue(raw, FieldMap(story_point_fields=("customfield_10016",))).story_points == expected


@pytest.mark.parametrize("project_key", ["ALPHA", "GAMMA"])
def test_parse_issue_reads_points_and_sprints_for_both_project_kinds(workspace: Workspace, project_key: str):
    # Given a company-managed (ALPHA, float "Story Points") or team-managed (GAMMA, jsw) project
    project = workspace.project(project_key)
    assert project is not None
    field_map = _sim_field_map(workspace)

    issues = workspace.issues_by_project[project_key]
    parsed = [parse_issue(raw, field_map, estimation_field=project.story_point_field_id) for raw in issues]

    for raw, issue in zip(issues, parsed, strict=True):
        points = raw["fields"].get(project.story_point_field_id)
        assert issue.story_points == (float(points) if points is not None else None), raw["key"]
        expected_sprints = sorted({s["id"] for s in raw["fields"].get(workspace.sprint_field_id) or []})
        assert list(issue.sprint_ids) == expected_sprints, raw["key"]
        assert issue.created is not None and issue.created.utcoffset() is not None
    assert any(i.story_points for i in parsed)
    assert any(len(i.sprint_ids) > 1 for i in parsed)  # carried-over issues keep every sprint


def test_parse_issue_reads_server_style_sprint_strings():
    raw = {
        "id": "1",
        "key": "A-1",
        "fields": {
            "customfield_10005": [
                "com.atlassian.greenhopper.service.sprint.Sprint@1f[id=12,rapidViewId=3,state=CLOSED,name=S1]",
                "com.atlassian.greenhopper.service.sprint.Sprint@2e[id=13,rapidViewId=3,state=ACTIVE,name=S2]",
            ]
        },
    }
    assert parse_issue(raw, FieldMap(sprint_field="customfield_10005")).sprint_ids == (12, 13)
