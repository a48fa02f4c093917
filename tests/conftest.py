"""Shared fixtures: sample events, the Jira simulator, and the local stack built from template.yaml."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jira_onboarding.jira.client import JiraCredentials
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.records import TeamMember

from jira_simulator import JiraSimulator, Workspace, build_workspace
from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL
from local_harness.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"
FIXTURES_DIR = Path(
    __import__("os").environ.get("JIRA_FIXTURES_DIR", REPO_ROOT.parent / "shared" / "jira-fixtures")
)
TEAM = "team-acme"
SIM_EMAIL, SIM_TOKEN = DEMO_EMAIL, DEMO_API_TOKEN

warnings.filterwarnings("ignore", message="No application metrics to publish")


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/: `start_onboarding` or `sync_segment`."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    """With IAM_CALLS_DIR set (make test-integration), record every function's AWS calls for
    tests/infrastructure/test_iam_grants.py (local_harness/iam_calls.py)."""
    from local_harness import iam_calls

    path = iam_calls.enabled_path()
    if path is not None:
        iam_calls.install(path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from local_harness import iam_calls

    recorder = iam_calls.recorder()
    if recorder is not None and recorder.counts:
        recorder.flush()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests (marked `slow`) first: on several workers (make test) they then run side by
    side from the start instead of leaving one worker finishing them alone at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1)


@pytest.fixture(autouse=True)
def _settings_read_again_after_each_test() -> Iterator[None]:
    """The settings are cached per process (get_settings): a test that changed the environment
    would leave its values to the next test in the worker. Torn down after the test's own
    monkeypatch has put the environment back, so the next read sees it as it is."""
    yield
    from jira_onboarding.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`settings_env(NAME="value", OTHER=None)`: set (None: unset) what the settings read, and read
    them again; undone at teardown. The one way a test changes a setting."""
    from jira_onboarding.settings import get_settings

    def set_env(**values: str | None) -> None:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def workspace() -> Workspace:
    return build_workspace(seed=1)


@pytest.fixture
def simulator(workspace: Workspace) -> JiraSimulator:
    return JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)


@pytest.fixture
def jira_url(simulator: JiraSimulator) -> Iterator[str]:
    with simulator.serve() as base_url:
        yield base_url


@pytest.fixture
def credentials(jira_url: str) -> JiraCredentials:
    return JiraCredentials(base_url=jira_url, auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as local:
        yield local


def connect_team(
    team_id: str, jira_url: str, workspace: Workspace | None = None, *, register: bool = True
) -> None:
    """Register the simulator as the team's Jira (unless `register` is False: already connected)
    and seed its GitHub-side members."""
    from jira_onboarding.dal.team import TeamStores

    if register:
        register_connection(team_id, jira_url, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})
    if workspace is not None:
        repo = TeamStores(team_id)
        for member in workspace.team_members:
            repo.people.save_member(TeamMember(team_id=team_id, **member))


@pytest.fixture
def connected_team(stack: LocalStack, jira_url: str, workspace: Workspace) -> str:
    connect_team(TEAM, jira_url, workspace)
    return TEAM


def select_and_wait(stack: LocalStack, keys: list[str], team_id: str = TEAM) -> dict[str, Any]:
    """POST a selection through the start handler, wait for every execution to succeed, and
    return the run's status as the status handler answers it."""
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=team_id, body={"project_keys": keys})
    assert status == 202, body
    executions = stack.wait_for_executions(timeout_s=120)
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    code, _, run = stack.http("GET", body["status_url"], team_id=team_id)
    assert code == 200
    return run


def set_project_fields(team_id: str, project_key: str, **values: Any) -> None:
    """Given-state for a test: set a tracked project's columns as an earlier run would have left
    them (the stores only offer the changes the logic makes)."""
    from jira_onboarding.dal.tables import TrackedProjectItem, bind_tables

    bind_tables()
    actions = [getattr(TrackedProjectItem, name).set(value) for name, value in values.items()]
    TrackedProjectItem(team_id, project_key).update(actions=actions)
