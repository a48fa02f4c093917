"""The stored issue item follows the `JiraIssue` model: a new field is one model change and a value
for it in `_every_field_set` below (the test fails until the sample sets it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from jira_onboarding.dal.issue_items import (
    ITEM_ONLY,
    RANGE_KEY_FIELD,
    issue_from_values,
    issue_values,
    item_attributes,
    item_name,
)
from jira_onboarding.dal.tables import JiraIssueItem
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import FieldChange, JiraIssue
from jira_onboarding.jira.structure import IssueLinkRef, IssueStructure, VersionRef
from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _every_field_set() -> JiraIssue:
    """An issue with every field away from its default, so that each one is seen stored and read."""
    issue = JiraIssue(
        id="10001",
        key="ALPHA-7",
        project_key="ALPHA",
        summary="Checkout times out",
        status_name="In Progress",
        status_category="indeterminate",
        issue_type="Bug",
        is_subtask=True,
        priority="High",
        assignee_account_id="acc-1",
        reporter_account_id="acc-2",
        created=AT,
        updated=AT.replace(hour=10),
        resolved=AT.replace(hour=11),
        labels=("checkout", "p1"),
        parent_key="ALPHA-1",
        sprint_ids=(3, 4),
        story_points=2.5,
        sprint_changes=(FieldChange(at=AT, from_value="3", to_value="3, 4"),),
        status_changes=(FieldChange(at=AT, from_value="To Do", to_value="In Progress"),),
        structure=IssueStructure(
            components=("web",),
            fix_versions=(VersionRef(id="10", name="1.4"),),
            resolution="Done",
            due_date=date(2026, 11, 30),
            status_category_changed=AT,
            links=(IssueLinkRef(type="Blocks", direction="outward", key="ALPHA-9"),),
        ),
    )
    unset = [
        name
        for name, field in JiraIssue.model_fields.items()
        if not field.is_required() and getattr(issue, name) == field.default
    ]
    assert unset == [], f"give the new field(s) {unset} a value here"
    return issue


def test_issue_item_attributes_are_the_model_fields_and_the_bookkeeping() -> None:
    attributes = JiraIssueItem.get_attributes()

    assert set(attributes) == {item_name(name) for name in JiraIssue.model_fields} | set(ITEM_ONLY)
    assert attributes[item_name(RANGE_KEY_FIELD)].is_range_key
    assert attributes["team_id"].is_hash_key


def test_issue_values_round_trip_every_field() -> None:
    issue = _every_field_set()

    assert issue_from_values(issue_values(issue)) == issue


def test_issue_values_store_no_history_as_no_attribute_and_read_defaults_back() -> None:
    issue = JiraIssue(id="1", key="ALPHA-1", project_key="ALPHA")

    values = issue_values(issue)

    assert (values["sprint_changes"], values["labels"], values["summary"]) == (None, [], "")
    assert issue_from_values({**values, "labels": None, "is_subtask": None}) == issue


def test_issue_store_saves_and_reads_back_every_field(dynamodb_tables: None) -> None:
    issue = _every_field_set()
    stores = TeamStores("team-issue-items")

    assert stores.issues.save([issue], run_id="run-1", fresh=True) == 1

    assert list(stores.issues.iter_models("ALPHA")) == [issue]
    (item,) = stores.issues.iter_items("ALPHA")
    assert (item["issue_key"], item["issue_id"], item["deleted"], item["run_id"]) == (
        "ALPHA-7",
        "10001",
        False,
        "run-1",
    )
    assert item["sprint_changes"] == [{"at": AT.isoformat(), "from": "3", "to": "3, 4"}]


class _WithNewFields(JiraIssue):
    due: datetime | None = None
    votes: int = 0
    watchers: tuple[str, ...] = ()
    flagged: bool | None = None
    history: tuple[FieldChange, ...] = ()


@pytest.mark.parametrize(
    ("name", "kind", "null"),
    [
        ("due", UTCDateTimeAttribute, True),
        ("votes", NumberAttribute, False),
        ("watchers", ListAttribute, False),
        ("flagged", BooleanAttribute, True),
        ("history", JSONAttribute, True),
        ("issue_id", UnicodeAttribute, False),  # required in the model: required in the item
    ],
)
def test_item_attributes_of_a_new_field_follow_its_type(name: str, kind: type, null: bool) -> None:
    attribute = item_attributes(_WithNewFields)[name]

    assert type(attribute) is kind and attribute.null is null


def test_item_attributes_refuse_a_type_with_no_stored_kind() -> None:
    class _Odd(JiraIssue):
        odd: dict[str, int] = {}

    with pytest.raises(TypeError, match=r"JiraIssue\.odd"):
        item_attributes(_Odd)
