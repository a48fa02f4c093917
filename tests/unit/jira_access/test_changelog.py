"""Attaching Sprint and status histories from Jira's bulk changelog (logic/jira_access/changelog.py), Jira
answered in-process as `POST /rest/api/3/changelog/bulkfetch` does: what each issue keeps, what is
skipped, how long a history may grow, and a site that refuses the endpoint."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from jira_onboarding.errors import JiraServerError
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.logic.jira_access.changelog import MAX_CHANGES_PER_FIELD, attach_changelogs

SPRINT = "customfield_10020"
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def _issue(n: int) -> JiraIssue:
    return JiraIssue(id=str(10_000 + n), key=f"OPS-{n}", project_key="OPS")


def _history(minutes: int, *items: dict) -> dict:
    at = (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {"id": str(minutes), "created": at, "items": list(items)}


def _status(before: str, after: str) -> dict:
    return {
        "fieldId": "status",
        "field": "status",
        "fromString": before,
        "toString": after,
        "from": "1",
        "to": "3",
    }


def _sprint(before: str, after: str) -> dict:
    return {
        "fieldId": SPRINT,
        "field": "Sprint",
        "from": before,
        "to": after,
        "fromString": "S1",
        "toString": "S2",
    }


class BulkChangelog:
    """Answers every bulk fetch with `logs` (one page), or with `status`."""

    def __init__(self, logs: list, status: int = 200) -> None:
        self.logs = logs
        self.status = status
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/rest/api/3/changelog/bulkfetch"
        self.bodies.append(json.loads(request.content))
        if self.status != 200:
            return httpx.Response(self.status, json={"errorMessages": ["nope"]})
        return httpx.Response(200, json={"issueChangeLogs": self.logs})


def _client(jira: BulkChangelog) -> JiraClient:
    credentials = JiraCredentials(
        base_url="https://acme.atlassian.net", auth_kind="api_token", email="a@b.c", api_token="t"
    )
    return JiraClient.connect(
        credentials, transport=httpx.MockTransport(jira), rng=random.Random(0), sleep=lambda _s: None
    )


def test_attach_changelogs_gives_each_issue_its_sprint_and_status_changes_oldest_first() -> None:
    jira = BulkChangelog(
        [
            {
                "issueId": "10001",
                "changeHistories": [
                    _history(30, _status("In Progress", "Done")),
                    _history(10, _status("To Do", "In Progress"), _sprint("", "12")),
                    _history(20, {"fieldId": "assignee", "from": "a", "to": "b"}),  # not a field we keep
                ],
            },
            {"issueId": "10002", "changeHistories": [_history(5, _sprint("12", "12, 13"))]},
        ]
    )

    first, second, third = attach_changelogs(_client(jira), [_issue(1), _issue(2), _issue(3)], SPRINT)

    assert [(c.from_value, c.to_value) for c in first.status_changes] == [
        ("To Do", "In Progress"),
        ("In Progress", "Done"),
    ]
    assert [(c.from_value, c.to_value) for c in first.sprint_changes] == [
        ("", "12")
    ]  # raw ids, as Jira wrote them
    assert second.sprint_changes[0].sprint_ids("to") == frozenset({12, 13}) and second.status_changes == ()
    assert third.sprint_changes == third.status_changes == ()
    assert jira.bodies[0]["issueIdsOrKeys"] == ["10001", "10002", "10003"]
    assert jira.bodies[0]["fieldIds"] == [SPRINT, "status"]


def test_attach_changelogs_without_a_sprint_field_asks_only_for_status() -> None:
    jira = BulkChangelog([{"issueId": "10001", "changeHistories": [_history(1, _sprint("", "12"))]}])

    [issue] = attach_changelogs(_client(jira), [_issue(1)], None)

    assert jira.bodies[0]["fieldIds"] == ["status"] and issue.sprint_changes == ()


def test_attach_changelogs_skips_entries_that_are_not_changes_of_issues_asked_for() -> None:
    jira = BulkChangelog(
        [
            {"issueId": "99999", "changeHistories": [_history(1, _status("A", "B"))]},  # not asked for
            {"issueId": "10001", "changeHistories": "not a list"},
            "not a changelog",
            {
                "issueId": "10001",
                "changeHistories": [
                    "not a history",
                    {"created": "not a date", "items": [_status("A", "B")]},
                    {"created": "2026-10-01T09:00:00.000+0000", "items": "not a list"},
                    _history(2, "not an item", _status("B", "C")),
                ],
            },
        ]
    )

    [issue] = attach_changelogs(_client(jira), [_issue(1)], SPRINT)

    assert [(c.from_value, c.to_value) for c in issue.status_changes] == [("B", "C")]


def test_attach_changelogs_keeps_the_most_recent_changes_of_a_very_long_history() -> None:
    changes = 3 * MAX_CHANGES_PER_FIELD  # past the bound kept while reading, too
    jira = BulkChangelog(
        [
            {
                "issueId": "10001",
                "changeHistories": [_history(m, _status(f"S{m}", f"S{m + 1}")) for m in range(changes)],
            }
        ]
    )

    [issue] = attach_changelogs(_client(jira), [_issue(1)], SPRINT)

    assert len(issue.status_changes) == MAX_CHANGES_PER_FIELD
    assert issue.status_changes[0].from_value == f"S{changes - MAX_CHANGES_PER_FIELD}"
    assert issue.status_changes[-1].to_value == f"S{changes}"


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_attach_changelogs_keeps_the_issues_without_history_when_the_site_refuses_the_endpoint(
    status: int,
) -> None:
    issues = [_issue(1), _issue(2)]

    kept = attach_changelogs(_client(BulkChangelog([], status=status)), issues, SPRINT)

    assert kept == issues and all(i.status_changes == () for i in kept)


def test_attach_changelogs_lets_a_transient_failure_through_for_the_state_machine_to_retry() -> None:
    with pytest.raises(JiraServerError):
        attach_changelogs(_client(BulkChangelog([], status=503)), [_issue(1)], SPRINT)


def test_attach_changelogs_of_issues_without_ids_asks_jira_nothing() -> None:
    jira = BulkChangelog([])
    issue = JiraIssue(id="", key="OPS-1", project_key="OPS")

    assert attach_changelogs(_client(jira), [issue], SPRINT) == [issue] and jira.bodies == []
