"""Stopping local AWS while a handler still runs (Ctrl-C mid-sync, a hung Jira call) never hands
that handler the person's own AWS environment: moto stays up and the local credentials stay until
the handler ends; calling stop again then finishes. (Once, a sync stopped this way called
https://dynamodb.us-east-1.amazonaws.com/ with the user's credentials.)"""

from __future__ import annotations

import os
import threading

import boto3
import pytest

from local_harness import stack as stack_module
from local_harness.stack import LocalStack


def test_stop_leaves_local_aws_up_while_a_handler_runs_and_finishes_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stack_module, "STOP_GRACE_S", 0.2)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "the-persons-own-key")
    local = LocalStack()
    local.start()
    gate = threading.Event()
    running = local._take_environment("SyncSegmentFunction").submit(gate.wait, 30)
    try:
        local.stop()
        assert os.environ["AWS_ACCESS_KEY_ID"] != "the-persons-own-key", "the person's credentials stay away"
        tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        assert tables, "a late call still lands on local AWS"
    finally:
        gate.set()
        running.result(timeout=10)
    local.stop()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "the-persons-own-key"
    assert local._mock is None
