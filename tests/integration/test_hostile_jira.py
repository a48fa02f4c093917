"""A hostile or broken Jira (issue 14, items 3 and 5-14): the real pipeline (template, state machine,
handlers on moto) against the simulator with a hostile mode on one project's calls, as a table.

Every run ends by itself within its bound, the sync's memory stays under a cap, a FAILED reason is
a sentence, nothing is stored that should not be (no other project's issue, no malformed key, no
credential in any table, answer or log line), and otherwise the store equals what Jira holds.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from jira_onboarding.dal.team import TeamStores

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match, SimRequest, Workspace
from jira_simulator.hostile import Hostile
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM
from tests.integration.test_fault_injection import FAST_ENV, _assert_ground_truth, _env, _fast_asl_retries

FAULTED, OTHER = "GAMMA", "OPS"
SEARCH = "/rest/api/3/search/jql"
RUN_BOUND_S = 90.0  # every run of this table ends well within this (most in a few seconds)
MEMORY_CAP_BYTES = 150 * 1024 * 1024  # peak traced allocation of one sync invocation
SECRETS = (SIM_TOKEN, base64.b64encode(f"{SIM_EMAIL}:{SIM_TOKEN}".encode()).decode())
HOSTILE_ENV = {
    **FAST_ENV,
    "JIRA_PAGING_MAX_PAGES": "40",
    "JIRA_REQUEST_DEADLINE_SECONDS": "3",
    "JIRA_MAX_BODY_BYTES": str(16 * 1024 * 1024),
    # A burst 429 pauses its endpoint for the whole site at most this long (60 s deployed): the
    # other project waits out what the hostile one provoked within the run's bound.
    "JIRA_MAX_BURST_PAUSE_SECONDS": "2",
}
MEMORY_TRACED = ("SyncSegmentFunction", "SyncUsersFunction", "PlanSyncFunction")


@dataclass(frozen=True)
class Case:
    id: str
    # Fresh per run (a Match counts what it has seen), from the workspace
    rules: Callable[[Workspace], list[tuple[Any, Fault]]]
    outcome: str  # COMPLETE | FAILED (of the faulted project)
    reason: str | None = None  # a phrase the FAILED reason must contain (case-insensitive)
    check: Callable[[Workspace], None] | None = None  # what else must hold after the run
    env: dict[str, str] = field(default_factory=dict)
    # Trace the sync's memory (tracemalloc slows every traced invocation several times): for the
    # modes that could grow it, huge answers and paging that does not end; not for a header's value.
    traced: bool = False


def _search(**match: Any) -> Match:
    return Match(method="POST", path=SEARCH, project=FAULTED, **match)


def _changelog_of(workspace: Workspace) -> Callable[[SimRequest], bool]:
    """Bulk changelog calls about the faulted project's issues (they name issues by id)."""
    ids = {str(raw["id"]) for raw in workspace.issues_by_project[FAULTED]}

    def matches(req: SimRequest) -> bool:
        asked = req.body.get("issueIdsOrKeys", []) if isinstance(req.body, dict) else []
        return req.path.endswith("/changelog/bulkfetch") and any(str(i) in ids for i in asked)

    return matches


def _stored(key: str) -> list[dict[str, Any]]:
    return list(TeamStores(TEAM).issues.iter_items(key))


def _summaries_bounded(workspace: Workspace) -> None:
    assert all(len(item.get("summary") or "") <= 1000 for item in _stored(FAULTED))


def _histories_bounded(workspace: Workspace) -> None:
    items = _stored(FAULTED)
    assert items and all(len(item.get("status_changes") or []) <= 500 for item in items)
    assert any(len(item.get("status_changes") or []) == 500 for item in items)


def _estimate_unknown(workspace: Workspace) -> None:
    project = TeamStores(TEAM).projects.get(FAULTED)
    assert project is not None and project.issues_total_estimate is None


def _cases() -> list[Case]:
    return [
        Case(
            "repeated nextPageToken",
            lambda ws: [(_search(), Hostile.repeated_token())],
            "FAILED",
            "paging did not end",
            traced=True,
        ),
        Case(
            "cycling tokens",
            lambda ws: [(_search(), Hostile.cycling_tokens())],
            "FAILED",
            "paging did not end",
            traced=True,
        ),
        Case(
            "endless pages",
            lambda ws: [(_search(), Hostile.endless_pages())],
            "FAILED",
            "paging did not end",
            traced=True,
        ),
        Case(
            "isLast false forever on boards",
            lambda ws: [(Match(path="/rest/agile/1.0/board", project=FAULTED), Hostile.never_last())],
            "FAILED",
            "paging did not end",
            traced=True,
        ),
        Case(
            "endless bulk changelog",
            lambda ws: [(_changelog_of(ws), Hostile.endless_pages())],
            "FAILED",
            "paging did not end",
            traced=True,
        ),
        Case(
            "600 KB errorMessages",
            lambda ws: [(_search(), Hostile.huge_error())],
            "FAILED",
            "rejected the request",
            traced=True,
        ),
        Case(
            "credential-echoing 400",
            lambda ws: [(_search(), Hostile.echo_credentials())],
            "FAILED",
            "rejected the request",
        ),
        Case(
            "count 10^12",
            lambda ws: [
                (Match(path="approximate-count", project=FAULTED), Hostile.absurd_count("1000000000000"))
            ],
            "COMPLETE",
            check=_estimate_unknown,
        ),
        Case(
            "count -5",
            lambda ws: [(Match(path="approximate-count", project=FAULTED), Hostile.absurd_count("-5"))],
            "COMPLETE",
            check=_estimate_unknown,
        ),
        Case(
            "count 1e400",
            lambda ws: [(Match(path="approximate-count", project=FAULTED), Hostile.absurd_count("1e400"))],
            "COMPLETE",
            check=_estimate_unknown,
        ),
        Case(
            "500 KB summary",
            lambda ws: [(_search(), Hostile.odd_fields({"summary": "s" * 500_000}))],  # on every issue
            "COMPLETE",
            check=_summaries_bounded,
            traced=True,
        ),
        Case(
            "odd field values",
            lambda ws: [(_search(), Hostile.odd_fields({"labels": 7, "created": "1e400", "priority": [1]}))],
            "COMPLETE",
        ),
        Case(
            "6,000 status changes",
            lambda ws: [(Match(path="/changelog/bulkfetch"), Hostile.long_histories(6000))],
            "COMPLETE",
            check=_histories_bounded,
            traced=True,
        ),
        Case("foreign and malformed keys", lambda ws: [(_search(), Hostile.extra_issues())], "COMPLETE"),
        Case("duplicate keys across pages", lambda ws: [(_search(), Hostile.duplicate_keys())], "COMPLETE"),
        Case("Retry-After 0", lambda ws: [(_search(nth=2), Hostile.odd_retry_after("0"))], "COMPLETE"),
        Case("Retry-After -5", lambda ws: [(_search(nth=2), Hostile.odd_retry_after("-5"))], "COMPLETE"),
        Case("Retry-After NaN", lambda ws: [(_search(nth=2), Hostile.odd_retry_after("NaN"))], "COMPLETE"),
        Case(
            "Retry-After inf forever",
            lambda ws: [(_search(), Hostile.odd_retry_after("inf"))],
            "FAILED",
            "rate limited longer than a run waits",
        ),
        Case(
            "60x the asked page",
            lambda ws: [(_search(), Hostile.huge_page(60))],
            "FAILED",
            "were asked for",
            traced=True,
        ),
        Case("slow drip once", lambda ws: [(_search(nth=1), Hostile.slow_drip(50))], "COMPLETE", traced=True),
    ]


@pytest.fixture
def hostile(stack: LocalStack) -> Iterator[None]:
    with _env(HOSTILE_ENV), _fast_asl_retries():
        yield


def _memory_hook(peaks: list[tuple[str, int]]) -> Any:
    lock = threading.Lock()

    def hook(handler: Any, event: dict, context: Any) -> Any:
        with lock:  # one traced invocation at a time: the peak is this invocation's
            tracemalloc.start()
            base, _ = tracemalloc.get_traced_memory()
            try:
                return handler(event, context)
            finally:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                peaks.append((event.get("project_key", "?"), peak - base))

    return hook


def dump_every_table() -> str:
    """Every item of every table of the stack, as one text to search."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    rows = []
    for name in client.list_tables()["TableNames"]:
        for page in client.get_paginator("scan").paginate(TableName=name):
            rows += [json.dumps(item, sort_keys=True, default=str) for item in page["Items"]]
    return "\n".join(rows)


def assert_no_credential(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a credential leaked"


def assert_sentence(reason: str) -> None:
    assert reason and reason[0].isupper() and reason.rstrip().endswith((".", "…")), reason
    assert len(reason) <= 400 and "Traceback" not in reason and "object is not" not in reason, reason


def run_bounded(stack: LocalStack, keys: list[str]) -> tuple[dict[str, Any], float]:
    """Select `keys`; the execution must end by itself (no RUNNING left) within RUN_BOUND_S."""
    started = time.monotonic()
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert status == 202, body
    executions = stack.wait_for_executions(timeout_s=RUN_BOUND_S)
    elapsed = time.monotonic() - started
    assert [e["status"] for e in executions] == ["SUCCEEDED"], executions
    code, _, run = stack.http("GET", body["status_url"], team_id=TEAM)
    assert code == 200, run
    return run, elapsed


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_hostile_jira_matrix(
    case: Case, stack, hostile, connected_team, workspace, simulator: JiraSimulator, monkeypatch, capfd
):
    # Given Jira is hostile on some calls about GAMMA (the sync's memory traced)
    import jira_onboarding.logic.run.segment as sync_segment

    monkeypatch.setattr(sync_segment, "MAX_THROTTLED_SECONDS", 3)
    simulator.faults = FaultPlan.script(case.rules(workspace))
    peaks: list[tuple[str, int]] = []
    for function in MEMORY_TRACED if case.traced else ():
        stack.dispatch_hooks[function] = _memory_hook(peaks)

    # When the team selects GAMMA and OPS
    run, elapsed = run_bounded(stack, [FAULTED, OTHER])

    # Then the hostile mode fired, the run ended by itself within its bound and memory stayed capped
    assert simulator.faults.fired, "the hostile mode never fired"
    assert elapsed < RUN_BOUND_S
    assert not case.traced or (peaks and max(peak for _, peak in peaks) < MEMORY_CAP_BYTES), peaks
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key[FAULTED]["status"] == case.outcome, by_key[FAULTED]
    # the other project is never blocked, and holds exactly Jira's issues
    assert by_key[OTHER]["status"] == "COMPLETE"
    _assert_ground_truth(workspace, OTHER, by_key[OTHER])
    # nothing stored that should not be: only the project's own keys, in Jira's syntax
    truth = {raw["key"] for raw in workspace.issues_by_project[FAULTED]}
    assert {item["issue_key"] for item in _stored(FAULTED)} <= truth
    assert not [k for k in ("XYZ-9", "../../etc", "alpha-1", "ALPHA-0") if k in dump_every_table()]
    if case.outcome == "COMPLETE":
        _assert_ground_truth(workspace, FAULTED, by_key[FAULTED])
    else:
        reason = by_key[FAULTED]["reason"] or ""
        assert_sentence(reason)
        assert case.reason and case.reason in reason.lower(), reason
    if case.check:
        case.check(workspace)
    # and no credential in any table, the status answer or the logs
    out, err = capfd.readouterr()
    assert_no_credential(dump_every_table(), json.dumps(run), out, err)


def test_more_pages_loop_is_bounded_by_the_state_machine_itself(
    stack, hostile, connected_team, workspace, simulator: JiraSimulator
):
    # Given a Sync Segment that never says done (every invocation looks like progress), counting
    # its invocations a hundred at a time so the bound comes in a few loops
    from jira_onboarding.logic.run.segment import MAX_SEGMENT_INVOCATIONS

    calls: list[int] = []

    def never_done(handler: Any, event: dict, context: Any) -> Any:
        calls.append(int(event.get("invocations", 0)))
        return {
            **event,
            "done": False,
            "wait_seconds": 0,
            "invocations": int(event.get("invocations", 0)) + 100,
        }

    stack.dispatch_hooks["SyncSegmentFunction"] = never_done

    # When the team selects one project
    run, _ = run_bounded(stack, [OTHER])

    # Then "More Pages?" stopped the loop at its bound and the project is FAILED with a sentence
    assert len(calls) == MAX_SEGMENT_INVOCATIONS // 100
    (project,) = run["projects"]
    assert project["status"] == "FAILED"
    assert_sentence(project["reason"])
    assert "paging did not end" in project["reason"].lower()


# ---- random hostile answers across endpoints -----------------------------------------------------

HOSTILE_EXAMPLES = 5
ENDPOINTS = {
    "search": "/rest/api/3/search/jql",
    "users": "/rest/api/3/users/search",
    "boards": "/rest/agile/1.0/board",
    "changelog": "/rest/api/3/changelog/bulkfetch",
    "count": "/rest/api/3/search/approximate-count",
}


def _modes() -> Any:
    from hypothesis import strategies as st

    text = st.sampled_from(["0", "-1", "NaN", "inf", "1e400", "99999999999", "soon", "1"])
    count = st.sampled_from(["-5", "1e400", "1000000000000", "12.5", '"many"', "null", "7"])
    fields = st.dictionaries(
        st.sampled_from(
            ["summary", "labels", "created", "priority", "status", "assignee", "customfield_10020"]
        ),
        st.one_of(st.integers(), st.text(max_size=5), st.just("s" * 300_000), st.just([1, {}]), st.none()),
        max_size=3,
    )
    return st.one_of(
        st.sampled_from(
            [
                Hostile.repeated_token(),
                Hostile.cycling_tokens(),
                Hostile.endless_pages(),
                Hostile.never_last(),
                Hostile.huge_error(),
                Hostile.echo_credentials(),
                Hostile.extra_issues(),
                Hostile.duplicate_keys(),
                Hostile.huge_page(40),
                Hostile.long_histories(1500),
            ]
        ),
        text.map(Hostile.odd_retry_after),
        count.map(Hostile.absurd_count),
        fields.map(Hostile.odd_fields),
    )


def hostile_schedules() -> Any:
    from hypothesis import strategies as st

    rule = st.tuples(
        st.sampled_from(sorted(ENDPOINTS)),
        st.sampled_from([FAULTED, OTHER, None]),
        _modes(),
        st.sampled_from([{}, {"nth": 1}, {"nth": 2}, {"first": 2}]),
    )
    return st.lists(rule, min_size=1, max_size=3)


@pytest.mark.slow
def test_random_hostile_answers_never_hang_exhaust_or_leak(capfd, monkeypatch):
    import jira_onboarding.logic.run.segment as sync_segment
    from hypothesis import HealthCheck, given, settings

    from jira_simulator import build_workspace
    from tests.conftest import connect_team

    monkeypatch.setattr(sync_segment, "MAX_THROTTLED_SECONDS", 3)
    runs: list[Any] = []

    @settings(
        max_examples=HOSTILE_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(schedule=hostile_schedules())
    def run_schedule(schedule: list[tuple[str, str | None, Fault, dict[str, Any]]]) -> None:
        workspace = build_workspace(seed=1)
        simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
        simulator.faults = FaultPlan.script(
            [(Match(path=ENDPOINTS[e], project=p, **which), fault) for e, p, fault, which in schedule]
        )
        peaks: list[tuple[str, int]] = []
        with simulator.serve() as jira_url, LocalStack() as stack, _env(HOSTILE_ENV), _fast_asl_retries():
            for function in MEMORY_TRACED:
                stack.dispatch_hooks[function] = _memory_hook(peaks)
            connect_team(TEAM, jira_url, workspace)
            run, elapsed = run_bounded(stack, [FAULTED, OTHER])
            assert elapsed < RUN_BOUND_S
            assert not peaks or max(p for _, p in peaks) < MEMORY_CAP_BYTES, (schedule, peaks)
            for project in run["projects"]:
                key = project["project_key"]
                truth = {raw["key"] for raw in workspace.issues_by_project[key]}
                assert {item["issue_key"] for item in _stored(key)} <= truth, schedule
                assert project["status"] in {"COMPLETE", "FAILED"}, (schedule, project)
                if project["status"] == "FAILED":
                    assert_sentence(project["reason"] or "")
            out, err = capfd.readouterr()
            assert_no_credential(dump_every_table(), json.dumps(run), out, err)
        runs.append(schedule)

    run_schedule()
    assert len(runs) >= 1
