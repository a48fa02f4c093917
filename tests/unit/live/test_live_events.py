"""What the receiver accepts as a Jira event, and what the consumer reads from one (ids only)."""

from __future__ import annotations

import json

import pytest
from jira_onboarding.logic.live.events import (
    MAX_QUEUED_EVENT_BYTES,
    LiveMessage,
    issue_ref,
    parse_message,
    queue_body,
    shape_problem,
)
from jira_onboarding.logic.live.registration import selection_jql

ISSUE_EVENT = {
    "webhookEvent": "jira:issue_updated",
    "issue": {"id": "10042", "key": "alpha-7", "fields": {"project": {"key": "ALPHA"}, "summary": "x"}},
}


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ([], "The webhook body is not a JSON object."),
        ({}, "The webhook body has no webhookEvent."),
        (
            {"webhookEvent": "jira:issue_updated", "issue": {"id": "x", "key": "ALPHA-1"}},
            "The issue event has no issue id and key.",
        ),
        ({"webhookEvent": "sprint_started", "sprint": {"id": "1"}}, "The sprint event has no sprint id."),
        (ISSUE_EVENT, None),
        ({"webhookEvent": "worklog_created"}, None),  # accepted; the consumer counts and drops it
    ],
)
def test_shape_problem_names_what_is_missing(event, problem):
    assert shape_problem(event) == problem


def test_issue_ref_reads_ids_and_project_only():
    ref = issue_ref(ISSUE_EVENT)
    assert ref is not None
    assert (ref.id, ref.key, ref.project_key) == ("10042", "ALPHA-7", "ALPHA")
    no_fields = {"issue": {"id": "1", "key": "BETA-3"}}
    assert issue_ref(no_fields).project_key == "BETA"  # type: ignore[union-attr]


def test_queue_body_reduces_an_event_too_big_for_sqs_to_what_the_consumer_reads():
    big = {
        **ISSUE_EVENT,
        "issue": {
            **ISSUE_EVENT["issue"],
            "fields": {"project": {"key": "ALPHA"}, "description": "x" * MAX_QUEUED_EVENT_BYTES},
        },
    }
    body = queue_body(LiveMessage(team_id="t", delivery_id="d", event=big))
    assert len(body.encode()) < MAX_QUEUED_EVENT_BYTES
    message = parse_message(body)
    assert message.event["reduced"] is True
    assert issue_ref(message.event) == issue_ref(big)
    small = queue_body(LiveMessage(team_id="t", delivery_id="d", event=ISSUE_EVENT))
    assert json.loads(small)["event"] == ISSUE_EVENT


def test_parse_message_refuses_what_is_not_ours():
    with pytest.raises(ValueError):
        parse_message("{not json")
    with pytest.raises(ValueError):
        parse_message(json.dumps({"kind": "jira_event"}))  # no team


def test_selection_jql_stays_within_the_dynamic_webhook_subset():
    assert selection_jql(["BETA", "ALPHA", "BETA"]) == "project in (ALPHA, BETA)"
    assert selection_jql([]) is None
