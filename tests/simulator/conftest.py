"""Fixtures for the Jira simulator tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from jira_simulator import JiraSimulator, Workspace, build_workspace
from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()}
BEARER = {"Authorization": "Bearer demo-oauth-token"}

Call = Callable[..., tuple[int, dict[str, str], Any]]


@pytest.fixture(scope="session")
def demo_ws() -> Workspace:
    """Read-only demo workspace shared by the session (tests that mutate build their own)."""
    return build_workspace(seed=1, size="demo")


@pytest.fixture
def sim(demo_ws: Workspace) -> JiraSimulator:
    return JiraSimulator(demo_ws)


def make_call(sim: JiraSimulator) -> Call:
    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        raw = json.dumps(body).encode() if body is not None else None
        status, out_headers, data = sim.handle(method, path, BASIC if headers is None else headers, raw)
        return status, out_headers, json.loads(data) if data else None

    return call


@pytest.fixture
def call(sim: JiraSimulator) -> Call:
    """``call(method, path, body=None, headers=None) -> (status, headers, parsed json)``."""
    return make_call(sim)
