"""DynamoDB throttling the team's writes for a while: a transient error, retried, never a FAILED
project. moto answers BatchWriteItem with ProvisionedThroughputExceededException for a number of
calls (past botocore's own retries and the layer's backoff), then recovers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from jira_onboarding.dal import batch
from jira_onboarding.dal.team import TeamStores

from jira_simulator import Workspace
from local_harness.stack import LocalStack
from tests.conftest import TEAM

THROTTLED_CALLS = 60


@contextmanager
def _fast_asl_retries(scale: float = 0.05) -> Iterator[None]:
    """moto's interpreter sleeps each ASL retry interval for real; scale those sleeps down."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    real = retrier_decl.time
    retrier_decl.time = SimpleNamespace(sleep=lambda s: real.sleep(s * scale))  # type: ignore[assignment]
    try:
        yield
    finally:
        retrier_decl.time = real  # type: ignore[assignment]


def _throttle_batch_writes(calls: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_write_item
    seen = {"throttled": 0}
    lock = threading.Lock()

    def batch_write_item(self: Any) -> Any:
        tables = self.body.get("RequestItems", {})
        with lock:
            # the sync's issue writes (the start's own writes answer an HTTP request, not a step)
            throttle = seen["throttled"] < calls and any(name.endswith("JiraIssuesTable") for name in tables)
            seen["throttled"] += throttle
        if throttle:
            raise JsonRESTError(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            )
        return original(self)

    monkeypatch.setattr(DynamoHandler, "batch_write_item", batch_write_item)
    return seen


def test_a_throttling_dynamodb_delays_the_sync_but_every_project_completes_equal_to_jira(
    stack: LocalStack, connected_team, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
):
    # Given DynamoDB refusing the next batch writes for capacity, long enough to exhaust the
    # layer's own backoff (one attempt here) at least once
    monkeypatch.setattr(batch, "_PUT_ATTEMPTS", 1)
    seen = _throttle_batch_writes(THROTTLED_CALLS, monkeypatch)
    keys = ["ALPHA", "BETA", "GAMMA", "OPS"]

    # When the team selects its projects
    with _fast_asl_retries():
        status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
        assert status == 202, body
        executions = stack.wait_for_executions(timeout_s=300)

    # Then the throttling happened and was retried, and every project is COMPLETE and equal to Jira
    assert seen["throttled"] == THROTTLED_CALLS
    assert any(i.error == "DynamoDBThrottledError" for i in stack.invocations)
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    stores = TeamStores(TEAM)
    for key in keys:
        project = stores.projects.get(key)
        assert project is not None and project.sync_status == "COMPLETE", (key, project and project.reason)
        assert stores.issues.count(key) == workspace.issue_count(key)
        stored = {item["issue_key"] for item in stores.issues.iter_items(key)}
        assert stored == {raw["key"] for raw in workspace.issues_by_project[key]}
