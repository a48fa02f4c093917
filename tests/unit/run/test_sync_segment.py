"""Sync Segment (logic/run/segment.py) invocation by invocation, on moto tables built from
template.yaml and the in-process Jira simulator: what one invocation commits, when it hands a pause
to Wait For Jira, how a project's two throttle allowances are counted (Jira's 429s apart from the
site budget's holds) and when they fail it, and the invocations that must do nothing. The state
machine around it (its Wait, Retry and Catch) is the integration suite's (test_split_sync.py,
test_fault_injection.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from jira_onboarding.budget import site_key
from jira_onboarding.contracts import ProjectStepInput, StepInput
from jira_onboarding.dal.site_budget import SiteBudgetStore
from jira_onboarding.dal.tables import TrackedProjectItem, bind_tables
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import JiraRateLimitExhaustedError, JiraThrottledError
from jira_onboarding.logic.run.plan import plan_run
from jira_onboarding.logic.run.segment import (
    MAX_HELD_SECONDS,
    MAX_THROTTLED_SECONDS,
    lambda_time_left,
    sync_segment,
)
from jira_onboarding.records import SyncStatus
from jira_onboarding.settings import get_settings

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match, Workspace, build_workspace
from tests.conftest import connect_team, set_project_fields

KEY = "OPS"  # 40 issues in the seed-1 workspace
PLENTY = lambda: 900.0  # noqa: E731 - seconds left in the invocation
LOW = lambda: 19.0  # noqa: E731 - inside the reserve (SYNC_TIME_RESERVE_SECONDS, 20): one batch, then stop


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    """One seeded workspace for the module (building one costs ~70 ms): these tests only read it,
    and each gets a simulator of its own."""
    return build_workspace(seed=1)


@pytest.fixture
def site(team_id: str, simulated_jira: JiraSimulator) -> str:
    """The team's own Jira site (the simulator): a site budget no other test shares. No members:
    a segment's sync does not read them."""
    url = f"https://{team_id}.atlassian.net"
    connect_team(team_id, url)
    return url


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch, dynamodb_tables: None) -> Iterator[Callable[[str, str], None]]:
    """Set one of the settings' environment variables for this test."""

    def set_value(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_value
    monkeypatch.undo()
    get_settings.cache_clear()


def _planned(team_id: str, run_id: str = "run-1") -> ProjectStepInput:
    TeamStores(team_id).runs.record(run_id, [KEY])
    [segment] = [s for p in plan_run(StepInput(team_id=team_id, run_id=run_id)).phases for s in p.segments]
    return ProjectStepInput(team_id=team_id, run_id=run_id, **segment.model_dump())


def _allowances(team_id: str) -> tuple[int, int]:
    """(throttled_seconds, held_seconds) of the project in this run."""
    bind_tables()
    item = TrackedProjectItem.get(team_id, KEY, consistent_read=True)
    return int(item.throttled_seconds or 0), int(item.held_seconds or 0)


def _jira_throttles(simulator: JiraSimulator, retry_after: int | None) -> None:
    """Jira answers every issue search with 429 (Retry-After as given)."""
    simulator.faults = FaultPlan.script(
        [(Match(path="/search/jql"), Fault.status(429, retry_after=retry_after))]
    )


def _site_paused(url: str, seconds: float) -> None:
    """Another client's quota 429 paused the site: our budget holds every call, none goes out."""
    store = SiteBudgetStore(get_settings().tables.jira_site_budgets)
    store.pause_site(site_key(url), time.time() + seconds, "jira-quota-per-tenant-based")


def test_sync_segment_commits_the_whole_segment_and_completes_the_project(
    team_id: str, site: str, workspace: Workspace
) -> None:
    step = _planned(team_id)

    result = sync_segment(step, time_left_s=PLENTY)

    assert result.done and result.wait_seconds == 0 and result.invocations == step.invocations + 1
    project = TeamStores(team_id).projects.get(KEY)
    assert project is not None and project.sync_status == SyncStatus.COMPLETE
    assert result.issues_fetched == project.issues_fetched == workspace.issue_count(KEY)
    assert TeamStores(team_id).issues.count(KEY) == workspace.issue_count(KEY)


def test_sync_segment_low_on_time_commits_one_page_and_the_next_invocation_resumes_from_it(
    team_id: str, site: str, workspace: Workspace, setting: Callable[[str, str], None]
) -> None:
    setting("JIRA_PAGE_SIZE", "10")  # OPS's 40 issues take four pages
    step = _planned(team_id)

    first = sync_segment(step, time_left_s=LOW)

    assert not first.done and first.pages_synced == 1 and first.issues_fetched == 10
    project = TeamStores(team_id).projects.get(KEY)
    assert project is not None and project.sync_status == SyncStatus.SYNCING
    assert project.segments["all"].cursor is not None  # saved: a crash resumes from here
    invocations = [first]
    while not invocations[-1].done:
        invocations.append(
            sync_segment(step.model_copy(update={"invocations": len(invocations)}), time_left_s=LOW)
        )
    assert [r.issues_fetched for r in invocations] == [10, 20, 30, 40]
    assert TeamStores(team_id).issues.count(KEY) == workspace.issue_count(KEY)
    assert TeamStores(team_id).projects.get(KEY).sync_status == SyncStatus.COMPLETE  # type: ignore[union-attr]


def test_sync_segment_hands_jiras_429_to_wait_for_jira_and_counts_it_as_throttled(
    team_id: str, site: str, simulated_jira: JiraSimulator
) -> None:
    step = _planned(team_id)
    _jira_throttles(simulated_jira, retry_after=120)

    result = sync_segment(step, time_left_s=PLENTY)

    assert (result.done, result.wait_seconds) == (False, 120)
    throttled, held = _allowances(team_id)
    assert 120 <= throttled <= 125 and held == 0  # the wait plus the invocation's own seconds
    assert TeamStores(team_id).projects.get(KEY).sync_status == SyncStatus.SYNCING  # type: ignore[union-attr]


def test_sync_segment_held_by_the_site_budget_counts_it_as_held_not_throttled(
    team_id: str, site: str, simulated_jira: JiraSimulator
) -> None:
    step = _planned(team_id)
    _site_paused(site, 600)
    calls_before = len(simulated_jira.request_log)

    result = sync_segment(step, time_left_s=PLENTY)

    assert not result.done and 590 <= result.wait_seconds <= 600
    throttled, held = _allowances(team_id)
    assert throttled == 0 and result.wait_seconds <= held <= result.wait_seconds + 5
    assert len(simulated_jira.request_log) == calls_before  # no request went out


def test_sync_segment_fails_the_project_past_max_throttled_seconds_of_jiras_429s(
    team_id: str, site: str, simulated_jira: JiraSimulator
) -> None:
    step = _planned(team_id)
    set_project_fields(
        team_id, KEY, throttled_seconds=MAX_THROTTLED_SECONDS - 60, held_seconds=MAX_HELD_SECONDS
    )
    _jira_throttles(simulated_jira, retry_after=120)

    with pytest.raises(JiraRateLimitExhaustedError) as exhausted:
        sync_segment(step, time_left_s=PLENTY)

    assert str(exhausted.value).startswith("Jira kept this project rate limited longer than a run waits")
    assert _allowances(team_id)[0] > MAX_THROTTLED_SECONDS


def test_sync_segment_held_does_not_fail_the_project_when_only_jiras_allowance_is_spent(
    team_id: str, site: str
) -> None:
    # Given a project whose own 429s spent its allowance: a hold of its site is not its doing
    step = _planned(team_id)
    set_project_fields(team_id, KEY, throttled_seconds=MAX_THROTTLED_SECONDS + 1)
    _site_paused(site, 600)

    result = sync_segment(step, time_left_s=PLENTY)

    assert not result.done and result.wait_seconds > 0
    assert _allowances(team_id)[0] == MAX_THROTTLED_SECONDS + 1


def test_sync_segment_fails_the_project_past_max_held_seconds_of_site_holds(team_id: str, site: str) -> None:
    step = _planned(team_id)
    set_project_fields(team_id, KEY, held_seconds=MAX_HELD_SECONDS - 60)
    _site_paused(site, 600)

    with pytest.raises(JiraRateLimitExhaustedError) as exhausted:
        sync_segment(step, time_left_s=PLENTY)

    assert "kept this project's site rate limited" in str(exhausted.value)
    throttled, held = _allowances(team_id)
    assert held > MAX_HELD_SECONDS and throttled == 0


def test_sync_segment_reraises_a_429_without_a_retry_after_for_the_state_machines_retry(
    team_id: str, site: str, simulated_jira: JiraSimulator, setting: Callable[[str, str], None]
) -> None:
    # Given backoffs short enough to wait inline: the client's last attempt ends with Jira's 429 as is
    setting("JIRA_BACKOFF_BASE_SECONDS", "0.01")
    step = _planned(team_id)
    _jira_throttles(simulated_jira, retry_after=None)

    with pytest.raises(JiraThrottledError):
        sync_segment(step, time_left_s=PLENTY)

    assert _allowances(team_id) == (0, 0)  # nothing handed to Wait For Jira, nothing counted


def test_plan_run_starts_both_throttle_allowances_afresh_each_run(team_id: str, site: str) -> None:
    _planned(team_id, "run-1")
    set_project_fields(team_id, KEY, throttled_seconds=MAX_THROTTLED_SECONDS, held_seconds=MAX_HELD_SECONDS)

    _planned(team_id, "run-2")

    assert _allowances(team_id) == (0, 0)


def test_sync_segment_does_nothing_for_a_project_a_newer_run_took_over(team_id: str, site: str) -> None:
    old = _planned(team_id, "run-1")
    _planned(team_id, "run-2")

    result = sync_segment(old, time_left_s=PLENTY)

    assert result.done and result.issues_fetched == 0
    assert TeamStores(team_id).issues.count(KEY) == 0
    assert TeamStores(team_id).projects.get(KEY).run_id == "run-2"  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [SyncStatus.COMPLETE, SyncStatus.FAILED])
def test_sync_segment_does_nothing_when_the_project_is_complete_or_failed(
    team_id: str, site: str, status: SyncStatus
) -> None:
    step = _planned(team_id)
    set_project_fields(team_id, KEY, sync_status=status.value)

    result = sync_segment(step, time_left_s=PLENTY)

    assert result.done and TeamStores(team_id).issues.count(KEY) == 0
    assert TeamStores(team_id).projects.get(KEY).sync_status == status  # type: ignore[union-attr]


def test_sync_segment_replayed_after_its_last_page_completes_the_project(team_id: str, site: str) -> None:
    # Given the segment's last page committed, but the invocation died before completing the project
    step = _planned(team_id)
    sync_segment(step, time_left_s=PLENTY)
    set_project_fields(team_id, KEY, sync_status=SyncStatus.SYNCING.value)

    result = sync_segment(step, time_left_s=PLENTY)

    assert result.done
    assert TeamStores(team_id).projects.get(KEY).sync_status == SyncStatus.COMPLETE  # type: ignore[union-attr]


def test_sync_segment_refuses_a_segment_the_plan_does_not_have(team_id: str, site: str) -> None:
    step = _planned(team_id).model_copy(update={"segment": "history-9"})

    with pytest.raises(ValueError, match="No segment 'history-9' is planned for project OPS"):
        sync_segment(step, time_left_s=PLENTY)


def test_sync_segment_stops_without_writing_over_an_invocation_that_committed_its_cursor_first(
    team_id: str, site: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a retried invocation (the first timed out, as the state machine saw it) that runs while
    # the first is still fetching the same page: the retry commits the segment first
    from jira_onboarding.logic.run import segment as module

    step = _planned(team_id)
    attach = module.attach_changelogs
    retried: list[bool] = []
    running: list[bool] = []

    def attach_while_the_retry_runs(*args: object, **kwargs: object) -> object:
        if not running:
            running.append(True)
            retried.append(sync_segment(step, time_left_s=PLENTY).done)
        return attach(*args, **kwargs)

    monkeypatch.setattr(module, "attach_changelogs", attach_while_the_retry_runs)

    result = sync_segment(step, time_left_s=PLENTY)

    # Then the first stops (its commit's condition fails) and the retry's outcome stands
    assert retried == [True] and result.done is False
    project = TeamStores(team_id).projects.get(KEY)
    assert project is not None and project.sync_status == SyncStatus.COMPLETE
    assert project.issues_fetched == TeamStores(team_id).issues.count(KEY) == workspace.issue_count(KEY)


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 61_500


def test_lambda_time_left_reads_the_lambda_context_or_gives_a_local_default() -> None:
    assert lambda_time_left(_Context())() == 61.5
    assert 899.0 < lambda_time_left(object())() <= 900.0
