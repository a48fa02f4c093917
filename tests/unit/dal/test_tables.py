"""`serialize_values` gives what the PynamoDB model itself serializes (the issue path skips building
models), with the same defaults and the same refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jira_onboarding.dal.tables import (
    JiraIssueItem,
    TrackedProjectItem,
    serialize_values,
)
from pynamodb.exceptions import AttributeNullError

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)

FULL = {
    "team_id": "t",
    "issue_key": "CORE-1",
    "issue_id": "10001",
    "project_key": "CORE",
    "summary": "Ship it",
    "status_name": "Done",
    "status_category": "done",
    "issue_type": "Story",
    "is_subtask": True,
    "priority": "High",
    "assignee_account_id": "a-1",
    "reporter_account_id": "a-2",
    "created": AT,
    "updated": AT,
    "resolved": AT,
    "labels": ["backend", "api"],
    "parent_key": "CORE-0",
    "sprint_ids": [12, 13],
    "story_points": 2.5,
    "sprint_changes": [{"at": AT.isoformat(), "from": "12", "to": "12, 13"}],
    "status_changes": [{"at": AT.isoformat(), "from": "To Do", "to": "Done"}],
    "deleted": False,
    "content_hash": "abc",
    "run_id": "run-1",
    "synced_at": AT,
}


@pytest.mark.parametrize(
    "values",
    [
        FULL,
        # the least an issue has: every optional attribute absent, or given as None
        {"team_id": "t", "issue_key": "CORE-2", "issue_id": "10002", "project_key": "CORE", "synced_at": AT},
        {**FULL, "status_name": None, "story_points": None, "sprint_changes": None, "labels": []},
        # defaults: labels, sprint_ids, summary, deleted, is_subtask
        {
            k: v
            for k, v in FULL.items()
            if k not in {"labels", "sprint_ids", "summary", "deleted", "is_subtask"}
        },
    ],
    ids=["full", "least", "nones", "defaults"],
)
def test_serialize_values_is_the_model_s_own_serialization(values: dict):
    assert serialize_values(JiraIssueItem, values).attributes == JiraIssueItem(**values).serialize()


def test_serialize_values_refuses_what_the_model_refuses():
    missing = {"team_id": "t", "issue_key": "CORE-3", "project_key": "CORE"}  # no issue_id
    with pytest.raises(AttributeNullError):
        JiraIssueItem(**missing).serialize()
    with pytest.raises(AttributeNullError):
        serialize_values(JiraIssueItem, missing)
    with pytest.raises(ValueError, match="does not exist"):
        serialize_values(JiraIssueItem, {**FULL, "colour": "red"})
    # Map attributes are serialized by the model only
    with pytest.raises(TypeError, match="map"):
        serialize_values(TrackedProjectItem, {"team_id": "t", "project_key": "CORE"})
