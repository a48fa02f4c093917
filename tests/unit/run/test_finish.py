"""Recording outcomes: the sentence a failure gets, when the nightly retry comes, and the run's end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jira_onboarding.logic.run.finish import describe_failure, next_nightly_run


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), datetime(2026, 12, 1, 2, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 2, 0, tzinfo=UTC), datetime(2026, 12, 2, 2, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 2, 0, 1, tzinfo=UTC), datetime(2026, 12, 2, 2, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, 2, 0, tzinfo=UTC)),
    ],
)
def test_next_nightly_run_is_the_next_two_am_utc(now: datetime, expected: datetime) -> None:
    assert next_nightly_run(now) == expected


def _cause(message: Any) -> str:
    return json.dumps({"errorType": "X", "errorMessage": message})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"Error": "JiraPermissionError", "Cause": _cause("No access to BETA.")},
            ("JiraPermissionError", "No access to BETA."),
        ),
        (
            {"Error": "JiraNotFoundError", "Cause": json.dumps({"errorType": "JiraNotFoundError"})},
            ("JiraNotFoundError", "This project does not exist in Jira (or was deleted)."),
        ),
        (
            {"Error": "States.Timeout", "Cause": "The task timed out."},  # a Cause that is not JSON
            ("States.Timeout", "The task timed out."),
        ),
        ({"Error": "JiraThrottledError"}, ("JiraThrottledError", "Jira kept rate limiting the sync.")),
        (
            {"Error": "JiraAuthError", "Cause": "[1, 2]"},
            ("JiraAuthError", "Jira refused the connection's credentials."),
        ),
        ({"Error": "KeyError", "Cause": None}, ("KeyError", "The sync failed (KeyError).")),
        ({}, ("UnknownError", "The sync failed (UnknownError).")),
        ({"Error": "JiraServerError", "Cause": _cause("x" * 400)}, ("JiraServerError", "x" * 299 + "…")),
    ],
)
def test_describe_failure_gives_a_sentence_a_person_understands(
    error: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert describe_failure(error) == expected
