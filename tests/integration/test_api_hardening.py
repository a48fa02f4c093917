"""The HTTP API answers abuse with a 4xx sentence (issue 14, items 15-16 and 18): deeply nested
bodies, over-long team claims on every route, keys outside Jira's syntax, kilobytes of input
never echoed back, and no log keys carried over from another invocation."""

from __future__ import annotations

import json

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.observability import logger

from local_harness.stack import LocalStack
from tests.conftest import TEAM

ROUTES = [
    ("POST", "/jira/onboarding", {"project_keys": ["OPS"]}),
    ("GET", "/jira/onboarding/run-20260101T000000-abcdef12", None),
    (
        "POST",
        "/jira/connection",
        {"site_url": "https://acme.atlassian.net", "auth_kind": "bearer", "access_token": "t"},
    ),
    ("GET", "/jira/metrics", None),
    ("GET", "/jira/insights", None),
]
POST_ROUTES = [route for route in ROUTES if route[0] == "POST"]


@pytest.mark.parametrize(
    "raw_body",
    ["[" * 100_000, "[" * 5_000, '{"project_keys": ' + "[" * 1_000 + "]" * 1_000 + "}", "{" * 40],
    ids=["100k brackets", "5k brackets", "1k nested list", "40 braces"],
)
@pytest.mark.parametrize(("method", "path", "_"), POST_ROUTES, ids=[r[1] for r in POST_ROUTES])
def test_api_answers_a_deeply_nested_body_with_a_4xx_sentence(
    stack: LocalStack, method: str, path: str, _: object, raw_body: str
) -> None:
    status, _headers, answer = stack.http(method, path, team_id=TEAM, raw_body=raw_body)

    assert status in (400, 413)
    assert answer["message"].endswith(".")
    assert "[[" not in answer["message"]


def test_api_parses_a_body_with_many_brackets_that_is_not_deep(stack: LocalStack) -> None:
    # Brackets inside strings and side by side are no depth: the body reaches validation.
    body = json.dumps({"project_keys": ["[[[[" * 20], "extra": [[1]] * 30})
    status, _headers, answer = stack.http("POST", "/jira/onboarding", team_id=TEAM, raw_body=body)

    assert status == 400
    assert "not a Jira project key" in answer["message"]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES])
@pytest.mark.parametrize(
    "claim",
    ["t" * 3_000, "team/../other", "team acme", "tëam"],
    ids=["3000 chars", "slashes", "space", "non-ASCII"],
)
def test_api_answers_an_invalid_team_claim_with_403_on_every_route(
    stack: LocalStack, method: str, path: str, body: dict | None, claim: str
) -> None:
    status, _headers, answer = stack.http(method, path, team_id=claim, body=body)

    assert status == 403
    assert answer["message"] == "The token's team claim is not a valid team id; sign in again."
    assert stack.list_executions() == []


@pytest.mark.parametrize("key", ["ßalpha", "\uff2f\uff30\uff33", "ops\u0130"])
def test_start_refuses_a_key_that_is_only_jira_syntax_once_uppercased(stack: LocalStack, key: str) -> None:
    status, _headers, answer = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": [key]}
    )

    assert status == 400
    assert "not a Jira project key" in answer["message"]
    assert TeamStores(TEAM).projects.list_tracked() == []


@pytest.mark.parametrize(
    "body",
    [
        {"project_keys": ["K" * 10_000]},
        {"project_keys": ["OPS"], "x" * 10_000: 1},
        {"project_keys": ["OPS", "ß" * 3_000]},
    ],
    ids=["long key", "long field name", "long non-ASCII key"],
)
def test_start_does_not_echo_a_long_input_back(stack: LocalStack, body: dict) -> None:
    status, _headers, answer = stack.http("POST", "/jira/onboarding", team_id=TEAM, body=body)

    assert status in (400, 413)
    assert len(json.dumps(answer)) < 1_000


HTTP_FUNCTIONS = [("GET", "/jira/metrics"), ("GET", "/jira/onboarding/run-x"), ("POST", "/jira/onboarding")]


@pytest.mark.parametrize(("method", "path"), HTTP_FUNCTIONS)
def test_api_invocation_starts_without_the_last_invocations_log_keys(
    stack: LocalStack, method: str, path: str
) -> None:
    # Given a warm function whose last invocation appended keys (as a run's steps do)
    body = {"project_keys": ["OPS"]} if method == "POST" else None
    stack.http(method, path, team_id=TEAM, body=body)
    logger.append_keys(run_id="run-of-the-last-invocation")
    assert logger.get_current_keys()["team_id"] == TEAM

    # When it is invoked without a team (answered before any key is appended)
    status, _headers, _answer = stack.http(method, path, team_id=None, body=body)

    # Then none of the last invocation's keys are left
    assert status == 403
    keys = logger.get_current_keys()
    assert "team_id" not in keys and "run_id" not in keys
