"""The HTTP API's request guards (api/guards.py): body bounds checked before parsing."""

from __future__ import annotations

import json

import pytest
from jira_onboarding.api.guards import MAX_BODY_BYTES, MAX_JSON_DEPTH, TEAM_ID, _nesting_depth, read_json_body
from jira_onboarding.errors import OnboardingRequestError


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
