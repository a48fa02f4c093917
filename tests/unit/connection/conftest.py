"""Fixtures of the connection tests: the OAuth app's secret and Atlassian's side (oauth_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jira_simulator import JiraSimulator
from tests.unit.connection.oauth_support import FakeAtlassian, app_secret_fixture, atlassian_fixture


@pytest.fixture
def app_secret(dynamodb_tables: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from app_secret_fixture(dynamodb_tables, monkeypatch)


@pytest.fixture
def atlassian(
    app_secret: None, simulated_jira: JiraSimulator, monkeypatch: pytest.MonkeyPatch
) -> FakeAtlassian:
    return atlassian_fixture(app_secret, simulated_jira, monkeypatch)
