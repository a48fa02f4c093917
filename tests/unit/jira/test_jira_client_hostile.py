"""The Jira client against hostile answers (MockTransport, no network, no real sleeps): bounded
time, bounded bodies, counts as hints, Retry-After clamped, and Jira's text short and scrubbed."""

from __future__ import annotations

import base64
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from jira_onboarding.errors import (
    JiraBadRequestError,
    JiraOversizedResponseError,
    JiraPagingError,
    JiraThrottledError,
    JiraTimeoutError,
)
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.jira.models import FieldMap, parse_issue
from jira_onboarding.jira.paging import PagingLimits
from jira_onboarding.jira.responses import MAX_RETRY_AFTER_S, MIN_RETRY_AFTER_S, retry_after_seconds

from jira_simulator import FaultPlan, JiraSimulator, Match, Workspace, build_workspace
from jira_simulator.hostile import Hostile
from tests.conftest import SIM_EMAIL, SIM_TOKEN

BASE_URL = "https://acme-sim.atlassian.net"
BASIC = base64.b64encode(f"{SIM_EMAIL}:{SIM_TOKEN}".encode()).decode()


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    """One seeded workspace for the module (building one costs ~40-70 ms): the hostile answers are
    rewritten copies, the workspace itself is only read."""
    return build_workspace(seed=1)


def _client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> JiraClient:
    credentials = JiraCredentials(
        base_url=BASE_URL, auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN
    )
    return JiraClient.connect(
        credentials,
        transport=httpx.MockTransport(handler),
        sleep=lambda _s: None,
        rng=random.Random(0),
        **kwargs,  # type: ignore[arg-type]
    )


def _hostile(workspace: Workspace, rule: Match, fault, **kwargs: object) -> JiraClient:
    sim = JiraSimulator(
        workspace, email=SIM_EMAIL, api_token=SIM_TOKEN, faults=FaultPlan.script([(rule, fault)])
    )
    return _client(sim.httpx_handler, **kwargs)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", MIN_RETRY_AFTER_S),
        ("-5", MIN_RETRY_AFTER_S),
        ("NaN", MIN_RETRY_AFTER_S),
        ("inf", MAX_RETRY_AFTER_S),
        ("1e400", MAX_RETRY_AFTER_S),
        ("99999999", MAX_RETRY_AFTER_S),
        ("30", 30.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_clamped(header, expected):
    assert retry_after_seconds(header) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"count": 42}', 42),
        (b'{"count": 1000000000000}', None),
        (b'{"count": -5}', None),
        (b'{"count": 1e400}', None),
        (b'{"count": "12"}', None),
        (b'{"count": true}', None),
        (b"[]", None),
    ],
)
def test_approximate_count_is_a_hint_absurd_values_are_unknown(body, expected):
    client = _client(lambda request: httpx.Response(200, content=body))
    assert client.approximate_count('project = "ALPHA"') == expected


def test_error_text_is_short_scrubbed_and_keeps_the_status(workspace: Workspace):
    client = _hostile(workspace, Match(path="/myself"), Hostile.echo_credentials())
    with pytest.raises(JiraBadRequestError) as caught:
        client.myself()
    reason = caught.value.reason
    assert "(400" in reason
    assert SIM_TOKEN not in reason and BASIC not in reason
    assert len(reason) < 500


def test_a_huge_error_message_becomes_a_short_reason(workspace: Workspace):
    client = _hostile(workspace, Match(path="/myself"), Hostile.huge_error())
    with pytest.raises(JiraBadRequestError) as caught:
        client.myself()
    assert len(str(caught.value)) < 500


def test_a_body_over_the_cap_is_not_read(workspace: Workspace):
    client = _hostile(
        workspace, Match(path="/search/jql"), Hostile.huge_page(copies=50), max_body_bytes=64_000
    )
    with pytest.raises(JiraOversizedResponseError):
        client.search_page('project = "ALPHA"', fields=["summary"], max_results=20)


def test_more_issues_than_asked_for_is_refused(workspace: Workspace):
    client = _hostile(workspace, Match(path="/search/jql"), Hostile.huge_page(copies=3))
    with pytest.raises(JiraOversizedResponseError, match="were asked for"):
        client.search_page('project = "ALPHA"', fields=["summary"], max_results=10)


def test_a_slow_drip_answer_ends_at_the_request_deadline(workspace: Workspace):
    client = _hostile(
        workspace,
        Match(path="/myself"),
        Hostile.slow_drip(bytes_per_s=20),
        request_deadline_s=0.1,  # real time: short, the answer would take minutes
        max_attempts=1,
    )
    started = time.monotonic()
    with pytest.raises(JiraTimeoutError, match="seconds to send its answer"):
        client.myself()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("path", "fault", "call"),
    [
        (
            "/search/jql",
            Hostile.repeated_token(),
            lambda c, ids: list(c.iter_search_pages('project = "ALPHA"', fields=[])),
        ),
        (
            "/search/jql",
            Hostile.cycling_tokens(),
            lambda c, ids: list(c.iter_search_pages('project = "ALPHA"', fields=[])),
        ),
        (
            "/search/jql",
            Hostile.endless_pages(),
            lambda c, ids: list(c.iter_search_pages('project = "ALPHA"', fields=[])),
        ),
        ("/users/search", Hostile.never_last(), lambda c, ids: list(c.iter_user_pages(page_size=10))),
        ("/rest/agile/1.0/board", Hostile.never_last(), lambda c, ids: c.boards("ALPHA")),
        ("/project/search", Hostile.never_last(), lambda c, ids: c.projects()),
        (
            "/changelog/bulkfetch",
            Hostile.repeated_token(),
            lambda c, ids: list(c.bulk_changelog(ids, ["status"])),
        ),
        (
            "/changelog/bulkfetch",
            Hostile.endless_pages(),
            lambda c, ids: list(c.bulk_changelog(ids, ["status"])),
        ),
    ],
)
def test_every_paging_loop_ends_with_a_paging_error(workspace: Workspace, path, fault, call):
    plain = _client(JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN).httpx_handler)
    ids = [
        i["id"] for i in plain.search_page('project = "ALPHA"', fields=["summary"], max_results=100).issues
    ]
    client = _hostile(workspace, Match(path=path), fault, paging_limits=PagingLimits(max_pages=30))
    with pytest.raises(JiraPagingError, match="Jira's paging did not end"):
        call(client, ids)
    assert client.calls <= 31


def test_a_throttle_with_infinite_retry_after_is_handed_over_clamped(workspace: Workspace):
    client = _hostile(workspace, Match(path="/myself"), Hostile.odd_retry_after("inf"), max_attempts=1)
    with pytest.raises(JiraThrottledError) as caught:
        client.myself()
    assert caught.value.retry_after == MAX_RETRY_AFTER_S and math.isfinite(caught.value.retry_after)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"labels": 7}, "labels"),
        ({"created": "1e400"}, "created"),
        ({"updated": {"no": "date"}}, "updated"),
        ({"summary": "s" * 500_000}, "summary"),
        ({"customfield_10020": "not a sprint list"}, "sprint"),
        ({"customfield_10020": [{"id": 1e300}]}, "sprint"),
    ],
)
def test_parse_issue_turns_a_bad_field_into_null_and_counts_it(fields, bad):
    problems: Counter[str] = Counter()
    raw = {"id": "10001", "key": "ALPHA-1", "fields": {"summary": "ok", **fields}}
    issue = parse_issue(
        raw, FieldMap(sprint_field="customfield_10020", story_point_fields=("cf",)), problems=problems
    )
    assert issue.key == "ALPHA-1"
    assert problems[bad] == 1
    assert len(issue.summary) <= 1000


@pytest.mark.parametrize("points", ["1e400", float("nan"), [1], {"v": 1}, True, "12abc"])
def test_parse_issue_reads_absurd_story_points_as_none(points):
    raw = {"id": "1", "key": "ALPHA-1", "fields": {"cf": points}}
    assert parse_issue(raw, FieldMap(story_point_fields=("cf",))).story_points is None


@pytest.mark.parametrize("key", [None, 12, ["ALPHA-1"], "x" * 10_000])
def test_parse_issue_never_raises_on_a_bad_key(key):
    issue = parse_issue({"key": key, "fields": "nonsense"}, FieldMap())
    assert len(issue.key) <= 255


def test_search_page_drops_entries_that_are_not_issues():
    body = json.dumps({"issues": [1, "x", {"key": "ALPHA-1"}], "isLast": True}).encode()
    client = _client(lambda request: httpx.Response(200, content=body))
    assert client.search_page("x", fields=[]).issues == [{"key": "ALPHA-1"}]
