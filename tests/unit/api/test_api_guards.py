"""The HTTP API's request guards (api/guards.py): body bounds checked before parsing."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from jira_onboarding.api.guards import MAX_BODY_BYTES, MAX_JSON_DEPTH, TEAM_ID, _nesting_depth, read_json_body
from jira_onboarding.api.resolver import build_resolver
from jira_onboarding.contracts import StartOnboardingRequest
from jira_onboarding.errors import OnboardingRequestError

from local_harness.api_events import http_api_event

# A router of this module's own: a function's router stays with its function's resolver.
router = Router()


@router.post("/jira/onboarding")
def _post(request: Annotated[StartOnboardingRequest, Body()]) -> dict:
    return {}


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        ("{}", 1),
        ('{"a": [[1], [2]]}', 3),
        ('{"a": "[[[[[[["}', 1),
        ('{"a": "\\"[[[["}', 1),
        ("[" * 50 + "]" * 50, 50),
        ("[]" * 100, 1),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(raw: str, depth: int) -> None:
    assert _nesting_depth(raw) == depth


def test_read_json_body_parses_a_shallow_body_with_many_brackets() -> None:
    body = {"project_keys": ["[" * 40], "x": [[1]] * 40}
    assert read_json_body(json.dumps(body)) == body


@pytest.mark.parametrize("raw", ["[" * 100_000, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)])
def test_read_json_body_refuses_a_deep_body_before_parsing(raw: str) -> None:
    with pytest.raises(OnboardingRequestError) as caught:
        read_json_body(raw)
    assert caught.value.status in (400, 413)


def test_read_json_body_refuses_a_body_over_the_bound_in_bytes() -> None:
    with pytest.raises(OnboardingRequestError) as caught:
        read_json_body(json.dumps({"k": "ß" * (MAX_BODY_BYTES // 2)}, ensure_ascii=False))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("claim", "valid"),
    [
        ("team-acme", True),
        ("8d2c1f5e-0b7a-4c7e-9a7e-2f1d3c4b5a69", True),
        ("org.team_1@example+x=y", True),
        ("t" * 128, True),
        ("t" * 129, False),
        ("team/other", False),
        ("team acme", False),
        ("tëam", False),
        ("", False),
    ],
)
def test_team_id_syntax(claim: str, valid: bool) -> None:
    assert bool(TEAM_ID.fullmatch(claim)) is valid


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_a_body_that_is_not_json_is_a_415_with_the_api_error_shape(
    content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    event = http_api_event(
        "POST",
        "/jira/onboarding",
        "/jira/onboarding",
        {},
        body="x",
        headers={"content-type": content_type},
        claims={"team_id": "t"},
    )
    answer = build_resolver(router).resolve(event, None)

    assert answer["statusCode"] == 415, answer
    assert json.loads(answer["body"]) == {
        "message": "Send the body as JSON (Content-Type: application/json)."
    }
