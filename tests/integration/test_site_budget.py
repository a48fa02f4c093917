"""One Jira budget per site (issue 16): the bucket in JiraSiteBudgetsTable, built from the template,
shared by concurrent callers; and a tenant quota exhausted mid-sync pausing the site's executions in
the state machine until the reset, then every project COMPLETE with the store equal to Jira."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jira_onboarding.budget import SitePacer
from jira_onboarding.dal.site_budget import SiteBudgetStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraThrottledError
from jira_onboarding.logic.connection.register import register_connection

from jira_simulator import JiraSimulator, Workspace
from jira_simulator.ratelimits import DEFAULT_TENANT, TENANT_QUOTA, RateLimits, SiteLimits, iso, points_cost
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM

SITE = "origin:http://127.0.0.1:9"


def test_site_budget_reservations_of_concurrent_callers_never_share_a_slot(stack: LocalStack):
    store = SiteBudgetStore()
    now = time.time()
    slots: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        mine = SiteBudgetStore()  # each Lambda has its own client
        for _ in range(10):
            reservation = mine.reserve(SITE, 2, 0.1, now)
            assert reservation is not None
            with lock:
                slots.extend(reservation.first + i * reservation.interval for i in range(2))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 80 slots of one site at 10 req/s: exactly one every 0.1 s from now, none shared.
    assert sorted(round(s - now, 6) for s in slots) == [round(i * 0.1, 6) for i in range(80)]
    assert store.reserve(SITE, 1, 0.1, now, max_backlog=1.0) is None  # booked 8 s ahead: busy


def test_site_budget_pause_and_slow_down_reach_the_next_reservation(stack: LocalStack):
    store = SiteBudgetStore()
    now = time.time()
    store.pause_site(SITE, now + 30, TENANT_QUOTA)
    store.pause_site(SITE, now + 10, TENANT_QUOTA)  # an earlier reset never shortens a pause
    store.pause_endpoint(SITE, "GET /rest/api/3/field", now + 2)
    store.slow_down(SITE, 0.5, now + 60)
    state = store.reserve(SITE, 1, 0.1, now).state  # type: ignore[union-attr]
    assert state.paused_until == pytest.approx(now + 30) and state.pause_reason == TENANT_QUOTA
    assert state.endpoint_pauses == {"GET /rest/api/3/field": pytest.approx(now + 2)}
    assert (state.slow_rate, state.slow_until) == (0.5, pytest.approx(now + 60))
    store.add_spent(SITE, 3, 205)
    store.add_spent(SITE, 1, 1)
    assert store.spent(SITE) == (4, 206)


def test_site_budget_reservation_lost_to_a_race_is_not_taken_for_a_busy_site(stack: LocalStack):
    # Given an idle site, and a client whose last booking found it busy (it tries the busy write first)
    store, other = SiteBudgetStore(), SiteBudgetStore()
    now = time.time()
    store._last_idle = False
    update = store._conditional_update
    raced: list[bool] = []

    def another_lambda_books_between_the_two_writes(site, expression, condition, values):
        if expression.startswith("SET tat = :end") and not raced:  # after the busy write failed
            raced.append(True)
            assert other.reserve(SITE, 1, 0.1, now) is not None  # the site is now booked 0.1 s ahead
        return update(site, expression, condition, values)

    store._conditional_update = another_lambda_books_between_the_two_writes  # type: ignore[method-assign]

    # When it reserves within a 30 s backlog while another Lambda books the site in between
    reservation = store.reserve(SITE, 1, 0.1, now, max_backlog=30.0)

    # Then it gets the slot after the other's (it was refused as "booked ahead", a Wait For Jira)
    assert raced and reservation is not None
    assert reservation.first == pytest.approx(now + 0.1)


def test_site_budget_lambdas_waking_for_a_reset_send_one_probe_into_a_window_still_closed(stack: LocalStack):
    # Given a site whose tenant-quota pause ended a moment ago, though Jira's window is still closed,
    # and five Lambdas (each its own pacer and DynamoDB client) waking for the reset at once
    ended = time.time() - 0.01
    SiteBudgetStore().pause_site(SITE, ended, TENANT_QUOTA)
    sent: list[float] = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def one_lambda() -> None:
        pacer = SitePacer(SiteBudgetStore(), SITE, rate=10.0)
        try:
            pacer.before("POST", "/rest/api/3/search/jql")
        except JiraThrottledError as exc:
            with lock:
                outcomes.append(f"held {exc.retry_after:.0f} s")
            return
        with lock:
            sent.append(time.time())
        time.sleep(0.2)  # Jira's answer, 200 ms later: the quota is still spent
        reset = iso(time.time() + 30)
        headers = {"Retry-After": "30", "RateLimit-Reason": TENANT_QUOTA, "X-RateLimit-Reset": reset}
        request = httpx.Request("POST", "https://acme.atlassian.net/rest/api/3/search/jql")
        pacer.after(httpx.Response(429, headers=headers, request=request))
        with lock:
            outcomes.append("refused")

    threads = [threading.Thread(target=one_lambda) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then one call went into the closed window; the other four waited for its answer and handed
    # the new pause (the reset it named, plus a second) to the state machine without calling Jira
    assert len(sent) == 1, sent
    assert sorted(outcomes) == ["held 31 s"] * 4 + ["refused"], outcomes


QUOTA_POINTS = 1_000  # more than the demo workspace's sync costs (~650 points) in one window
QUOTA_WINDOW_S = 30.0
OTHER_APP_AFTER_CALLS = 15  # the other app spends the rest of the quota after this many of ours


@pytest.fixture
def quota_site(workspace: Workspace) -> Iterator[tuple[JiraSimulator, str]]:
    limits = RateLimits(SiteLimits(points_per_hour=QUOTA_POINTS, quota_window_s=QUOTA_WINDOW_S))
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN, rate_limits=limits)
    with simulator.serve() as url:
        yield simulator, url


def _charged_points(simulator: JiraSimulator) -> list[int]:
    """What the simulator charged our calls (its points model on each answered OAuth request)."""
    charged: list[int] = []
    charge = simulator.limits.charge

    def recording(tenant: str, method: str, path: str, payload: object, *, oauth: bool) -> dict[str, str]:
        if oauth:
            charged.append(points_cost(method, path, payload))
        return charge(tenant, method, path, payload, oauth=oauth)

    simulator.limits.charge = recording  # type: ignore[method-assign]
    return charged


def _other_app_spends_the_quota(simulator: JiraSimulator) -> threading.Thread:
    """Mid-sync, another app on the same site spends what is left of the tenant's quota."""

    def spend() -> None:
        deadline = time.monotonic() + 60
        while len(simulator.request_log) < OTHER_APP_AFTER_CALLS and time.monotonic() < deadline:
            time.sleep(0.01)
        simulator.limits.spend(DEFAULT_TENANT, QUOTA_POINTS)

    thread = threading.Thread(target=spend, daemon=True)
    thread.start()
    return thread


def _onboard(stack: LocalStack, keys: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The team selects `keys`; the start's answer and the finished executions."""
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert status == 202, body
    return body, stack.wait_for_executions(timeout_s=180)


def _complete_and_equal_to_jira(
    stack: LocalStack,
    workspace: Workspace,
    body: dict[str, Any],
    executions: list[dict[str, Any]],
    keys: list[str],
) -> dict[str, Any]:
    """Every execution SUCCEEDED, every project COMPLETE, every issue stored; the run's status."""
    assert {x["status"] for x in executions} == {"SUCCEEDED"}
    code, _, run = stack.http("GET", body["status_url"], team_id=TEAM)
    assert code == 200
    assert {p["project_key"]: p["status"] for p in run["projects"]} == dict.fromkeys(keys, "COMPLETE")
    repo = TeamStores(TEAM)
    for key in keys:
        assert repo.issues.count(key) == workspace.issue_count(key)
    return run


@pytest.mark.slow
def test_tenant_quota_exhausted_mid_sync_pauses_the_site_until_the_reset_then_completes(
    stack: LocalStack, workspace: Workspace, quota_site: tuple[JiraSimulator, str]
):
    # Given an OAuth connection (points quotas apply to app traffic) to a site whose quota another
    # app runs out a few calls into the sync (our own pacing slows down before it would: NearLimit)
    simulator, url = quota_site
    register_connection(TEAM, url, "bearer", {"access_token": "demo-oauth-token"})
    keys = [p.key for p in workspace.projects]
    charged = _charged_points(simulator)
    other_app = _other_app_spends_the_quota(simulator)

    # When the team onboards every project
    body, executions = _onboard(stack, keys)
    other_app.join(timeout=1)

    # Then the quota closed, and the closed window was probed only by calls already in flight when
    # it closed (at most one per concurrent Lambda: the projects' syncs and the users' step), none
    # after the first 429 reached the site's budget (a second later at most): no Lambda probed the
    # closed window again, each waited for the reset the first 429 named
    refusals = [at for _, reason, at in simulator.limits.refusals if reason == TENANT_QUOTA]
    assert refusals, "the quota never ran out"
    windows: list[list[float]] = []
    for at in refusals:
        if windows and at - windows[-1][0] < QUOTA_WINDOW_S:
            windows[-1].append(at)
        else:
            windows.append([at])
    assert len(windows) == 1, windows
    (window,) = windows
    assert len(window) <= len(keys) + 1 and window[-1] - window[0] < 1.0, window
    # and the executions waited in the state machine, no Lambda through the window
    history = [e for x in executions for e in stack.execution_history(x["executionArn"])]
    assert any(e["type"] == "WaitStateEntered" for e in history)
    sync_runs = [i for i in stack.invocations if i.function == "SyncSegmentFunction"]
    assert max(i.seconds for i in sync_runs) < QUOTA_WINDOW_S / 2
    # and every project is COMPLETE with the store equal to Jira
    run = _complete_and_equal_to_jira(stack, workspace, body, executions, keys)
    # and the run knows what its calls cost: every call the simulator answered, at its price
    assert run["jira_calls"] == len(simulator.request_log)
    assert run["jira_points"] == sum(charged)


REOPENED_WINDOW_S = 8.0


@pytest.mark.slow
def test_tenant_quota_still_closed_at_its_reset_costs_one_probe_then_the_next_reset_completes(
    stack: LocalStack, workspace: Workspace, quota_site: tuple[JiraSimulator, str]
):
    # Given an OAuth connection to a site whose quota another app runs out mid-sync, and spends
    # again the moment its window reopens: Jira's announced reset comes, and the window is closed
    simulator, url = quota_site
    simulator.limits.configure(
        DEFAULT_TENANT, SiteLimits(points_per_hour=QUOTA_POINTS, quota_window_s=REOPENED_WINDOW_S)
    )
    register_connection(TEAM, url, "bearer", {"access_token": "demo-oauth-token"})
    keys = [p.key for p in workspace.projects]

    other_app = _other_app_spends_the_quota(simulator)
    admit = simulator.limits.admit
    respent: list[float] = []

    def other_app_first_after_the_reset(tenant: str, method: str, endpoint: str, *, oauth: bool) -> Any:
        # The other app's requests reach the reopened window before ours: it is spent again
        reset = simulator.limits.quota_reset_at(tenant)
        if not respent and simulator.limits.refusals and reset is not None and time.time() >= reset:
            simulator.limits.spend(tenant, QUOTA_POINTS)
            respent.append(time.time())
        return admit(tenant, method, endpoint, oauth=oauth)

    simulator.limits.admit = other_app_first_after_the_reset  # type: ignore[method-assign]

    # When the team onboards every project
    body, executions = _onboard(stack, keys)
    other_app.join(timeout=1)

    # Then the closed window after the announced reset was probed by one call, not one per Lambda
    # that woke for the reset: the others waited for its answer and handed the next wait on
    refusals = sorted(at for _, reason, at in simulator.limits.refusals if reason == TENANT_QUOTA)
    closing = [at for at in refusals if at - refusals[0] < 1.0]  # calls in flight when it closed
    probes = refusals[len(closing) :]
    assert respent and len(probes) == 1, (closing, probes)
    assert probes[0] - closing[0] >= REOPENED_WINDOW_S - 1.0
    # and the users waited both pauses out in the state machine too (their retries would not)
    users = TeamStores(TEAM).runs.get(body["run_id"])
    assert users is not None and users.users_error is None and users.users_fetched
    # and every project is COMPLETE with the store equal to Jira
    _complete_and_equal_to_jira(stack, workspace, body, executions, keys)
