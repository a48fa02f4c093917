"""Scrubbing: no credential, in any of its forms, survives in text we store, log or answer."""

from __future__ import annotations

import base64
import json

import pytest
from jira_onboarding.redact import MAX_JIRA_TEXT, REDACTED, scrub

TOKEN = "ATATT3xFfGF0-s3cr3t-api-token"
PAIR = f"demo@example.com:{TOKEN}"
B64 = base64.b64encode(PAIR.encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"Invalid header Authorization: Basic {B64}",
        f"the token {TOKEN} is wrong",
        f"user {PAIR}",
        f"raw {B64} without the scheme",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "api_token=abcdef123456&x=1",
        '{"access_token": "ya29.a0AfH6"}',
        f"url-encoded {TOKEN.replace('-', '%2D')}",
    ],
)
def test_scrub_removes_credentials_in_every_form(text):
    out = scrub(text, [TOKEN, PAIR, f"Basic {B64}"])
    assert TOKEN not in out and B64 not in out and "eyJhbGci" not in out and "abcdef123456" not in out
    assert "ya29" not in out


def test_scrub_keeps_a_plain_sentence_and_bounds_its_length():
    assert scrub("The value 'X' does not exist for the field 'project'.") == (
        "The value 'X' does not exist for the field 'project'."
    )
    out = scrub("x" * 600_000)
    assert len(out) <= MAX_JIRA_TEXT


def test_scrub_puts_text_on_one_line():
    assert scrub("a\nb\r\n\tc\x00d") == "a b c d"


def test_scrub_marks_what_it_removed():
    assert REDACTED in scrub(f"Basic {B64}")


def test_bounded_errors_keeps_short_errors_and_bounds_long_ones():
    from jira_onboarding.errors import MAX_ERROR_MESSAGE, JiraBadRequestError, StepFailedError, bounded_errors

    @bounded_errors
    def fails(error: Exception) -> None:
        raise error

    with pytest.raises(KeyError):
        fails(KeyError("short"))
    with pytest.raises(StepFailedError) as caught:
        fails(ValueError("x" * 600_000))
    assert len(str(caught.value)) <= MAX_ERROR_MESSAGE and str(caught.value).startswith("ValueError: ")
    # a Jira error bounds its own reason, keeping its class (the ASL retries and catches by name)
    with pytest.raises(JiraBadRequestError) as jira:
        fails(JiraBadRequestError("y" * 600_000))
    assert len(jira.value.reason) <= MAX_ERROR_MESSAGE


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"Error": "TypeError", "Cause": json.dumps({"errorMessage": "'int' object is not iterable"})},
            "The sync failed (TypeError).",
        ),
        (
            {"Error": "JiraPagingError", "Cause": json.dumps({"errorMessage": "Jira's paging did not end."})},
            "Jira's paging did not end.",
        ),
        (
            {
                "Error": "JiraBadRequestError",
                "Cause": json.dumps({"errorMessage": f"Jira said Basic {B64}."}),
            },
            "Jira said Basic [redacted].",
        ),
        ({"Error": "States.DataLimitExceeded"}, "The sync failed (States.DataLimitExceeded)."),
    ],
)
def test_describe_failure_is_our_sentence_without_raw_python_or_credentials(error, expected):
    from jira_onboarding.logic.run.finish import describe_failure

    assert describe_failure(error)[1] == expected


def test_scrub_leaves_english_after_basic_alone():
    assert (
        scrub("Basic authentication is disabled on this site.")
        == "Basic authentication is disabled on this site."
    )
