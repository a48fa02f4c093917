"""Fault injection: the real pipeline (template, state machine, handlers on moto) against the Jira
simulator with failures scripted on some calls. Every run must finish, and for every project that
ends COMPLETE the store must equal the simulator's ground truth: no issue lost, none duplicated,
`issues_stored` exact. Projects whose failure is not transient end FAILED with a readable reason,
without a retry storm, and never block the others.

Waits are real but short: the client's backoff base comes from `JIRA_BACKOFF_BASE_SECONDS`, and
moto's ASL `Retry` sleeps are scaled down (`_fast_asl_retries`); `Wait For Jira` waits for real.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jira_onboarding.dal.issues import IssueStore
from jira_onboarding.dal.projects import ProjectStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraServerError
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.settings import get_settings

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match, Workspace, build_workspace
from jira_simulator.faults import SimRequest
from jira_simulator.ratelimits import BURST
from jira_simulator.server import REMOVED_SEARCH_MESSAGE
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM, connect_team

SEARCH = "/rest/api/3/search/jql"
PAGE_SIZE = 25
SYNC_FUNCTION = "SyncSegmentFunction"
FAULTED, OTHER = "GAMMA", "OPS"  # 60 issues (3 pages of 25) and 40 issues (2 pages)

# Small waits, same logic: backoff 0.01 s x 2^n in the Lambda; a Retry-After up to 1.5 s is waited
# inline, a longer one goes to `Wait For Jira`; a call unanswered for 3 s is a timeout.
FAST_ENV = {
    "JIRA_PAGE_SIZE": str(PAGE_SIZE),
    "JIRA_BACKOFF_BASE_SECONDS": "0.01",
    "JIRA_MAX_INLINE_WAIT_SECONDS": "1.5",
    "JIRA_TIMEOUT_SECONDS": "3",  # 1 s made slow-but-answered calls time out on a loaded machine
}
ASL_RETRY_TIME_SCALE = 0.05  # IntervalSeconds 2 with BackoffRate 2 -> 0.1 s, 0.2 s, ...


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@contextmanager
def _fast_asl_retries() -> Iterator[None]:
    """moto's interpreter sleeps each ASL retry interval for real; scale those sleeps (only those:
    `Wait For Jira` is untouched) so the Retry/Catch paths run in tenths of a second."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    real = retrier_decl.time
    retrier_decl.time = SimpleNamespace(sleep=lambda s: real.sleep(s * ASL_RETRY_TIME_SCALE))  # type: ignore[assignment]
    try:
        yield
    finally:
        retrier_decl.time = real  # type: ignore[assignment]


@pytest.fixture
def fast(stack: LocalStack) -> Iterator[None]:
    with _env(FAST_ENV), _fast_asl_retries():
        yield


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    status: int  # negative: this status with a body that is not JSON; 0: never answered

    @property
    def project(self) -> str | None:
        jql = (self.body or {}).get("jql", "") if isinstance(self.body, dict) else ""
        return jql.split('"')[1] if jql.startswith('project = "') else None

    @property
    def token(self) -> str | None:
        return self.body.get("nextPageToken") if isinstance(self.body, dict) else None

    @property
    def is_page(self) -> bool:
        """An issue page of the sync (not the id-only deletion sweep)."""
        return self.path == SEARCH and isinstance(self.body, dict) and self.body.get("fields") != ["id"]


class CallLog:
    """Every request the simulator handles, with its JSON body and the status it answered
    (0 = never answered). `simulator.request_log` has no bodies, and a page is its token."""

    def __init__(self, simulator: JiraSimulator) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        original = simulator.handle

        def handle(method: str, path_with_query: str, headers: Any = None, body: bytes | None = None) -> Any:
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            status = 0
            try:
                answer = original(method, path_with_query, headers, body)
                status = answer[0]
                try:
                    json.loads(answer[2])
                except ValueError:
                    status = -status  # answered, but not with JSON (a malformed or truncated body)
                return answer
            finally:
                with self._lock:
                    self.calls.append(Call(method, path_with_query.split("?")[0], parsed, status))

        simulator.handle = handle  # type: ignore[method-assign]

    def pages(self, project: str, status: int | None = 200) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.is_page and c.project == project and (status is None or c.status == status)
            ]


def _run(stack: LocalStack, keys: list[str]) -> tuple[dict[str, Any], str]:
    """Select `keys`, wait for the execution; it must SUCCEED whatever Jira did. Returns the run
    status and the execution ARN."""
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert status == 202, body
    executions = stack.wait_for_executions(timeout_s=180)
    assert [e["status"] for e in executions] == ["SUCCEEDED"], executions
    code, _, run = stack.http("GET", body["status_url"], team_id=TEAM)
    assert code == 200, run
    return run, executions[0]["executionArn"]


def _pages_of(workspace: Workspace, key: str) -> int:
    return max(1, math.ceil(workspace.issue_count(key) / PAGE_SIZE))


def _assert_ground_truth(workspace: Workspace, key: str, progress: dict[str, Any]) -> None:
    """The stored issues of `key` are exactly the simulator's: no issue lost, none duplicated."""
    truth = sorted(raw["key"] for raw in workspace.issues_by_project[key])
    stored = list(TeamStores(TEAM).issues.iter_items(key))
    keys = [item["issue_key"] for item in stored]
    live = sorted(item["issue_key"] for item in stored if not item.get("deleted"))
    assert len(keys) == len(set(keys)), f"{key}: duplicated issues"
    assert live == truth, (
        f"{key}: lost {sorted(set(truth) - set(live))}, extra {sorted(set(live) - set(truth))}"
    )
    assert progress["issues_stored"] == len(truth), key
    assert TeamStores(TEAM).issues.count(key) == len(truth), key


def _sync_invocations(stack: LocalStack, key: str) -> list[Any]:
    return [i for i in stack.invocations if i.function == SYNC_FUNCTION and i.event.get("project_key") == key]


# ---- the fault matrix ----------------------------------------------------------------------------


def _on_pages(**match: Any) -> Match:
    return Match(method="POST", path=SEARCH, project=FAULTED, **match)


@dataclass(frozen=True)
class Case:
    id: str
    rules: Callable[[], list[tuple[Match, Fault]]]  # fresh per run: a Match counts what it has seen
    outcome: str  # COMPLETE | FAILED
    reason: str | None = None  # a phrase the FAILED reason must contain (case-insensitive)
    max_failed_invocations: int = 0  # failed sync invocations allowed: no retry storm


def _cases() -> list[Case]:
    return [
        Case("latency", lambda: [(_on_pages(first=3), Fault.latency(0.4))], "COMPLETE"),
        Case(
            "429 burst, Retry-After 1 s",
            lambda: [(_on_pages(nth=2), Fault.burst_limited(retry_after=1))],
            "COMPLETE",
        ),
        Case("500", lambda: [(_on_pages(first=2), Fault.status(500))], "COMPLETE"),
        Case("502", lambda: [(_on_pages(nth=[2, 3]), Fault.status(502))], "COMPLETE"),
        Case("503", lambda: [(_on_pages(nth=3), Fault.status(503))], "COMPLETE"),
        # More failures in a row than the Lambda retries (4 attempts): the ASL retries the step.
        Case(
            "503 x5: Lambda then ASL retry",
            lambda: [(_on_pages(first=5), Fault.status(503))],
            "COMPLETE",
            None,
            1,
        ),
        Case("timeout", lambda: [(_on_pages(nth=2), Fault.timeout(seconds=4))], "COMPLETE"),
        Case("malformed JSON", lambda: [(_on_pages(nth=[1, 2]), Fault.malformed_json())], "COMPLETE"),
        Case(
            "malformed changelog",
            lambda: [(Match(path="/rest/api/3/changelog/bulkfetch", nth=2), Fault.malformed_json())],
            "COMPLETE",
        ),
        Case(
            "403 on the project",
            lambda: [
                (
                    Match(project=FAULTED),
                    Fault.status(403, message="You do not have permission to view this project."),
                )
            ],
            "FAILED",
            "no access",
            1,
        ),
        Case(
            "404 on the project",
            lambda: [
                (
                    Match(project=FAULTED),
                    Fault.status(404, message=f"No project could be found with key '{FAULTED}'."),
                )
            ],
            "FAILED",
            "jira could not find project gamma",
            1,
        ),
        Case(
            "410 removed endpoint",
            lambda: [(_on_pages(), Fault.status(410, message=REMOVED_SEARCH_MESSAGE))],
            "FAILED",
            "removed this endpoint",
            1,
        ),
        # Retried in the Lambda (4 attempts) and by the ASL (5 invocations), then FAILED.
        Case(
            "malformed JSON forever",
            lambda: [(_on_pages(), Fault.malformed_json())],
            "FAILED",
            "not valid json",
            5,
        ),
        Case("500 forever", lambda: [(_on_pages(), Fault.status(500))], "FAILED", "answered 500", 5),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_fault_matrix(case: Case, stack, fast, connected_team, workspace, simulator: JiraSimulator):
    # Given Jira misbehaves on some calls about GAMMA
    simulator.faults = FaultPlan.script(case.rules())
    log = CallLog(simulator)

    # When the team selects GAMMA and OPS
    run, _ = _run(stack, [FAULTED, OTHER])

    # Then the fault really happened, and the run finished with each project's outcome
    assert simulator.faults.fired, "the scripted fault never fired"
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key[FAULTED]["status"] == case.outcome, by_key[FAULTED]
    assert run["status"] == ("COMPLETE" if case.outcome == "COMPLETE" else "COMPLETE_WITH_FAILURES")
    # the other project is never blocked, and holds exactly Jira's issues
    assert by_key[OTHER]["status"] == "COMPLETE"
    _assert_ground_truth(workspace, OTHER, by_key[OTHER])
    failed = [i for i in _sync_invocations(stack, FAULTED) if i.error]
    assert len(failed) <= case.max_failed_invocations, [i.error for i in failed]
    if case.outcome == "COMPLETE":
        _assert_ground_truth(workspace, FAULTED, by_key[FAULTED])
        # every page was fetched successfully exactly once (a failed call is not a fetched page)
        pages = log.pages(FAULTED)
        assert len(pages) == _pages_of(workspace, FAULTED)
        assert len({p.token for p in pages}) == len(pages)
    else:
        reason = by_key[FAULTED]["reason"] or ""
        assert case.reason in reason.lower(), reason
        assert by_key[FAULTED]["next_retry_at"]
        assert TeamStores(TEAM).issues.count(FAULTED) == 0


def test_quota_exhausted_waits_in_the_state_machine_with_the_cursor_saved(
    stack, fast, connected_team, workspace, simulator: JiraSimulator, monkeypatch
):
    # Given the hourly quota runs out on GAMMA's second page, for 2 s (longer than the inline budget)
    simulator.faults = FaultPlan.script([(_on_pages(nth=2), Fault.quota_exhausted(retry_after=2))])
    log = CallLog(simulator)
    inline_waits: list[float] = []
    original_wait = JiraClient._wait_or_raise

    def recording_wait(self, wait_s, error):
        original_wait(self, wait_s, error)  # raises when the wait is handed to the state machine
        inline_waits.append(wait_s)

    monkeypatch.setattr(JiraClient, "_wait_or_raise", recording_wait)

    started = time.monotonic()
    run, arn = _run(stack, [FAULTED, OTHER])

    # Then the state machine waited (a Wait state), not a Lambda
    events = stack.execution_history(arn)
    waits = [e for e in events if e["type"] == "WaitStateEntered"]
    # A tenant quota pauses the whole site (one budget per site): the other project's segment,
    # if still running, waits too, without calling Jira.
    assert 1 <= len(waits) <= 2
    assert len(log.pages(OTHER, status=429)) == 0
    assert time.monotonic() - started >= 2
    assert all(wait < 2 for wait in inline_waits), "a Lambda slept through the quota"
    assert not any(i.error for i in _sync_invocations(stack, FAULTED))
    # and the sync resumed from the saved cursor. Pages are committed in batches: the first page,
    # stored at once as a preview but not yet committed (its batch needs the changelog call Jira
    # just refused), is fetched again; every other page once.
    throttled = log.pages(FAULTED, status=429)
    assert len(throttled) == 1
    pages = log.pages(FAULTED)
    assert len(pages) == _pages_of(workspace, FAULTED) + 1
    assert len({p.token for p in pages}) == _pages_of(workspace, FAULTED)
    assert [p.token for p in pages[:3]] == [None, None, throttled[0].token]
    assert throttled[0].token is not None
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key[FAULTED]["status"] == by_key[OTHER]["status"] == "COMPLETE"
    _assert_ground_truth(workspace, FAULTED, by_key[FAULTED])
    _assert_ground_truth(workspace, OTHER, by_key[OTHER])


# ---- a Lambda killed between pages -------------------------------------------------------------------


def _killed_error(name: str) -> type[Exception]:
    # Step Functions names a Lambda's failure after the error type it reports; the local stack
    # reports the exception's class name, so the class carries Lambda's own name (dots included).
    return type(name, (Exception,), {})


def _kill_first_invocation(
    project: str, error: type[Exception], *, before_commit: bool
) -> Callable[[Callable, dict, Any], Any]:
    """The first sync invocation of `project` commits one page and is then killed: either after the
    cursor commit (the response is lost) or between the page's issue writes and its cursor commit."""
    state = {"killed": False}

    def hook(handler: Callable, event: dict, context: Any) -> Any:
        if state["killed"] or event.get("project_key") != project:
            return handler(event, context)
        state["killed"] = True
        if not before_commit:
            # A budget that stops after the first page: it commits page 1, then the sandbox dies.
            context.get_remaining_time_in_millis = lambda: 1000
            handler(event, context)
            raise error("Task timed out after 120.00 seconds")
        original = ProjectStore.commit_segment
        commits = {"n": 0}

        def commit_segment(self: ProjectStore, project_key: str, **kwargs: Any) -> Any:
            if project_key == project:  # other projects' invocations run on other threads meanwhile
                commits["n"] += 1
            if project_key == project and commits["n"] == 1:  # the batch's issues are written, not its cursor
                raise error("Task timed out after 120.00 seconds")
            return original(self, project_key, **kwargs)

        ProjectStore.commit_segment = commit_segment  # type: ignore[method-assign]
        try:
            return handler(event, context)
        finally:
            ProjectStore.commit_segment = original  # type: ignore[method-assign]

    return hook


@pytest.mark.parametrize(
    ("error_name", "before_commit"),
    [
        pytest.param("Lambda.Unknown", False, id="Lambda.Unknown after the cursor commit"),
        pytest.param("Lambda.Unknown", True, id="Lambda.Unknown between issues and cursor"),
        pytest.param("Sandbox.Timedout", False, id="Sandbox.Timedout after the cursor commit"),
        pytest.param("Runtime.ExitError", True, id="Runtime.ExitError between issues and cursor"),
    ],
)
def test_a_lambda_killed_between_pages_resumes_from_the_saved_cursor(
    error_name, before_commit, stack, fast, connected_team, workspace, simulator: JiraSimulator
):
    stack.dispatch_hooks[SYNC_FUNCTION] = _kill_first_invocation(
        FAULTED, _killed_error(error_name), before_commit=before_commit
    )
    log = CallLog(simulator)

    run, _ = _run(stack, [FAULTED, OTHER])

    by_key = {p["project_key"]: p for p in run["projects"]}
    assert _sync_invocations(stack, FAULTED)[0].error == error_name
    assert by_key[FAULTED]["status"] == "COMPLETE", by_key[FAULTED]
    _assert_ground_truth(workspace, FAULTED, by_key[FAULTED])
    _assert_ground_truth(workspace, OTHER, by_key[OTHER])
    # The retried invocation started from the saved cursor: page 1 was fetched once; only a page
    # whose cursor was never committed is fetched again (and written over itself, counted once).
    pages = log.pages(FAULTED)
    tokens = [p.token for p in pages]
    # Pages are committed in batches (one changelog call per batch; GAMMA is one batch): a kill
    # between a batch's issue writes and its cursor commit refetches that batch, no more.
    refetched = _pages_of(workspace, FAULTED) if before_commit else 0
    assert tokens.count(None) == (2 if before_commit else 1)
    assert len(pages) == _pages_of(workspace, FAULTED) + refetched
    assert len(set(tokens)) == _pages_of(workspace, FAULTED)


def test_a_batch_write_failing_while_the_next_batch_is_fetched_resumes_from_the_last_commit(
    stack, fast, connected_team, workspace, simulator: JiraSimulator, monkeypatch
):
    # Given one batch per page, so the sync writes a batch while it fetches the next one, and a
    # DynamoDB failure (a kill, a lost connection) in the write of the second batch
    from jira_onboarding.logic.run import segment as sync_segment

    monkeypatch.setattr(sync_segment, "CHANGELOG_BATCH_ISSUES", PAGE_SIZE)
    original = IssueStore.save
    batch_writes = {"n": 0}

    def save_issues(self: IssueStore, issues: list, **kwargs: Any) -> int:
        if threading.current_thread().name.startswith("commit") and issues[0].project_key == FAULTED:
            batch_writes["n"] += 1
            if batch_writes["n"] == 2:
                original(self, issues[: len(issues) // 2], **kwargs)  # half of it lands
                raise _killed_error("Lambda.Unknown")("Task timed out after 120.00 seconds")
        return original(self, issues, **kwargs)

    monkeypatch.setattr(IssueStore, "save", save_issues)
    log = CallLog(simulator)

    # When the run goes on (the state machine retries the failed invocation)
    run, _ = _run(stack, [FAULTED])

    # Then the failed invocation had fetched the third page while the second was being written,
    # the retry started from the first batch's cursor, and the store is the ground truth, counted once
    progress = {p["project_key"]: p for p in run["projects"]}[FAULTED]
    assert _sync_invocations(stack, FAULTED)[0].error == "Lambda.Unknown"
    assert progress["status"] == "COMPLETE", progress
    _assert_ground_truth(workspace, FAULTED, progress)
    tokens = [p.token for p in log.pages(FAULTED)]
    first, second, third = tokens[:3]
    assert first is None and second and third
    assert tokens[3:] == [second, third]


# ---- an issue deleted between pages ---------------------------------------------------------------


def test_issues_deleted_between_pages_are_not_stored_as_live(
    stack, fast, connected_team, workspace: Workspace, simulator: JiraSimulator
):
    # Given two GAMMA issues are deleted in Jira while the sync is between page 1 and page 2: one
    # already fetched (page 1), one not yet fetched (page 3)
    keys = [raw["key"] for raw in workspace.issues_by_project[FAULTED]]
    fetched, not_yet = keys[3], keys[55]
    searches = {"n": 0}

    def delete_on_second_page(req: SimRequest) -> bool:
        if req.path == SEARCH and FAULTED in req.project_keys:
            searches["n"] += 1
            if searches["n"] == 2:
                workspace.delete_issue(fetched)
                workspace.delete_issue(not_yet)
        return False  # a side effect, never a fault

    simulator.faults = FaultPlan.script([(delete_on_second_page, Fault.status(500))])

    run, _ = _run(stack, [FAULTED, OTHER])

    # Then the store equals Jira after the run: the one fetched before its deletion is kept but
    # marked deleted (never counted), the other was never stored
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key[FAULTED]["status"] == "COMPLETE"
    _assert_ground_truth(workspace, FAULTED, by_key[FAULTED])
    stored = {item["issue_key"]: item for item in TeamStores(TEAM).issues.iter_items(FAULTED)}
    assert stored[fetched]["deleted"] is True
    assert not_yet not in stored


# ---- an expired OAuth token mid-sync --------------------------------------------------------------


def test_an_access_token_expiring_between_pages_is_refreshed_and_nothing_is_lost(stack, fast, workspace):
    from tests.integration.test_oauth_tokens import AuthServer, _oauth_connection

    # Given an OAuth connection whose access token Jira stops accepting on GAMMA's second page
    simulator = JiraSimulator(workspace, bearer_tokens={"at-1"})
    simulator.faults = FaultPlan.script([(_on_pages(nth=2), Fault.expired_token())])
    log = CallLog(simulator)
    auth = AuthServer(simulator)
    with simulator.serve() as jira_url, auth.serve() as token_url, _env({"ATLASSIAN_AUTH_URL": token_url}):
        _oauth_connection(jira_url, expires_at=time.time() + 3600)
        run, _ = _run(stack, [FAULTED, OTHER])

    # Then the token was refreshed once and both projects hold exactly Jira's issues
    assert auth.spent == ["rt-1"]
    by_key = {p["project_key"]: p for p in run["projects"]}
    for key in (FAULTED, OTHER):
        assert by_key[key]["status"] == "COMPLETE", by_key[key]
        _assert_ground_truth(workspace, key, by_key[key])
    assert len(log.pages(FAULTED, status=401)) == 1
    assert len(log.pages(FAULTED)) == _pages_of(workspace, FAULTED)


# ---- random fault schedules (property-based) ------------------------------------------------------

RANDOM_PROJECTS = ("GAMMA", "OPS", "BETA")
TRANSIENT_FAULTS = {
    "500": Fault.status(500),
    "502": Fault.status(502),
    "503": Fault.status(503),
    "429 burst": Fault.burst_limited(retry_after=1),
    "429 quota": Fault.quota_exhausted(retry_after=2),
    "malformed": Fault.malformed_json(),
    "timeout": Fault.timeout(seconds=3.5),
    "latency": Fault.latency(0.3),
}
ENDPOINTS = {
    "pages": SEARCH,
    "changelog": "/rest/api/3/changelog/bulkfetch",
    "count": "/rest/api/3/search/approximate-count",
    "fields": "/rest/api/3/field",
    "boards": "/rest/agile/1.0/board",
    "users": "/rest/api/3/users/search",
}
RANDOM_EXAMPLES = 8


@st.composite
def fault_schedules(draw: st.DrawFn) -> dict[str, Any]:
    """1-3 projects; up to 3 rules, each a transient fault on the nth (or first n) calls of one
    endpoint, optionally of one project; optionally an issue deleted after the kth page call.
    Each rule can fail at most one sync invocation (4 attempts in the Lambda), so every schedule
    is recoverable within the ASL's retries: all projects must end COMPLETE."""
    projects = draw(st.lists(st.sampled_from(RANDOM_PROJECTS), min_size=1, max_size=3, unique=True))
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
        fault = draw(st.sampled_from(sorted(TRANSIENT_FAULTS)))
        project = draw(st.none() | st.sampled_from(projects)) if endpoint != "users" else None
        if draw(st.booleans()) and fault not in {"timeout", "429 quota", "429 burst"}:
            which = {"first": draw(st.integers(1, 5))}
        else:
            which = {"nth": sorted(draw(st.sets(st.integers(1, 6), min_size=1, max_size=2)))}
        rules.append((endpoint, project, fault, which))
    deletion = None
    if draw(st.booleans()):
        project = draw(st.sampled_from(projects))
        deletion = (project, draw(st.integers(0, 39)), draw(st.integers(1, 3)))
    return {"projects": projects, "rules": rules, "deletion": deletion}


def _plan(schedule: dict[str, Any], workspace: Workspace) -> FaultPlan:
    rules: list[tuple[Any, Fault]] = []
    if schedule["deletion"]:
        project, index, after = schedule["deletion"]
        victim = workspace.issues_by_project[project][index]["key"]
        seen = {"n": 0}

        def delete(req: SimRequest) -> bool:
            # Only this project's own page calls count: a deletion triggered by another project's
            # call could land after this project finished, which no sync can see until its sweep.
            jql = req.body.get("jql", "") if isinstance(req.body, dict) else ""
            if req.path == SEARCH and jql.startswith(f'project = "{project}"'):
                seen["n"] += 1
                if seen["n"] == after + 1:
                    workspace.delete_issue(victim)
            return False

        rules.append((delete, Fault.status(500)))
    for endpoint, project, fault, which in schedule["rules"]:
        rules.append((Match(path=ENDPOINTS[endpoint], project=project, **which), TRANSIENT_FAULTS[fault]))
    return FaultPlan.script(rules)


@pytest.mark.slow
def test_random_fault_schedules_end_with_the_ground_truth():
    runs: list[dict[str, Any]] = []
    started = time.monotonic()

    # Derandomized so CI replays the same schedules every run (random runs found a test bug: a
    # deletion triggered by another project's call, after the deleted issue's project had finished).
    @settings(
        max_examples=RANDOM_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(schedule=fault_schedules())
    def run_schedule(schedule: dict[str, Any]) -> None:
        workspace = build_workspace(seed=1)
        simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
        simulator.faults = _plan(schedule, workspace)
        with (
            simulator.serve() as jira_url,
            LocalStack() as stack,
            _env(FAST_ENV),
            _fast_asl_retries(),
        ):
            connect_team(TEAM, jira_url, workspace)
            run, _ = _run(stack, schedule["projects"])
            by_key = {p["project_key"]: p for p in run["projects"]}
            for key in schedule["projects"]:
                assert by_key[key]["status"] == "COMPLETE", (schedule, by_key[key])
                _assert_ground_truth(workspace, key, by_key[key])
        runs.append(schedule)

    run_schedule()
    elapsed = time.monotonic() - started
    print(f"\n{len(runs)} random fault schedules passed in {elapsed:.1f} s")
    assert len(runs) >= 1


# ---- the client's waits (unit level, no sleeping) -------------------------------------------------


def _unit_client(simulator: JiraSimulator, **kwargs: Any) -> tuple[JiraClient, list[float]]:
    sleeps: list[float] = []
    credentials = JiraCredentials(
        base_url="https://acme-sim.atlassian.net", auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN
    )
    client = JiraClient.connect(
        credentials, transport=httpx.MockTransport(simulator.httpx_handler), sleep=sleeps.append, **kwargs
    )
    return client, sleeps


@pytest.mark.parametrize("seed", range(5))
def test_client_backoff_is_jittered_exponential_and_retry_after_is_a_minimum(seed: int, workspace: Workspace):
    # Three 503s, then a 429 whose Retry-After (4 s) is longer than the backoff it would get
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    simulator.faults = FaultPlan.script(
        [
            (Match(path="/rest/api/3/field", nth=[1, 2]), Fault.status(503)),
            (
                Match(path="/rest/api/3/field", nth=1),
                Fault.status(429, retry_after=4, reason=BURST),
            ),
        ]
    )
    client, sleeps = _unit_client(simulator, backoff_base_s=0.5, rng=random.Random(seed))

    assert client.fields()

    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps[:2]):
        assert 0.7 * 0.5 * 2**attempt <= wait <= 1.3 * 0.5 * 2**attempt
    assert sleeps[2] == 4.0  # backoff would be 1.4-2.6 s: Retry-After wins


def test_client_retries_only_idempotent_calls(workspace: Workspace):
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    simulator.faults = FaultPlan.script([(Match(path="/rest/api/3/field", first=1), Fault.status(503))])
    client, sleeps = _unit_client(simulator, backoff_base_s=0.5)

    with pytest.raises(JiraServerError):
        client.request("GET", "/rest/api/3/field", what="the field list", idempotent=False)

    assert sleeps == []
    assert len(simulator.request_log) == 1


def test_endless_quota_exhaustion_ends_failed_so_the_run_still_finishes(
    stack, fast, connected_team, workspace, simulator: JiraSimulator, monkeypatch
):
    # Given Jira answers every GAMMA page with "quota exhausted", and the run's patience is 3 s
    import jira_onboarding.logic.run.segment as sync_segment

    monkeypatch.setattr(sync_segment, "MAX_THROTTLED_SECONDS", 3)
    simulator.faults = FaultPlan.script([(_on_pages(), Fault.quota_exhausted(retry_after=2))])

    run, _ = _run(stack, [FAULTED, OTHER])

    # Then GAMMA waited in the state machine, then FAILED with a reason; OPS is unaffected
    by_key = {p["project_key"]: p for p in run["projects"]}
    assert by_key[FAULTED]["status"] == "FAILED"
    assert "rate limited" in by_key[FAULTED]["reason"]
    assert by_key[FAULTED]["next_retry_at"]
    assert by_key[OTHER]["status"] == "COMPLETE"
    assert run["done"] is True
