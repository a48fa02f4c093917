"""A Jira delivery is applied once per team, however often it comes back; its record lives in the
team's partition of the idempotency table (template.yaml's, on moto)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from jira_onboarding.logic.live.idempotency import DELIVERY_IDEMPOTENCY_S, apply_once
from jira_onboarding.settings import get_settings


class Applier:
    """An apply function (`apply`) that counts its calls; its result names the call that made it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

        def apply(delivery: dict[str, Any], **kwargs: Any) -> str:
            self.calls.append({"delivery": delivery, **kwargs})
            if kwargs.get("fail"):
                raise RuntimeError("the apply failed")
            return f"applied #{len(self.calls)}"

        self.apply = apply


class LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _records(team_id: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return client.query(
        TableName=get_settings().tables.idempotency,
        KeyConditionExpression="team_id = :t",
        ExpressionAttributeValues={":t": {"S": team_id}},
    )["Items"]


def test_apply_once_applies_a_delivery_once_and_answers_a_repeat_with_the_first_result(team_id: str):
    applier = Applier()

    first = apply_once(applier.apply, team_id, "d-1", None, message="m")
    again = apply_once(applier.apply, team_id, "d-1", None, message="m")
    other = apply_once(applier.apply, team_id, "d-2", None, message="m")

    assert (first, again, other) == ("applied #1", "applied #1", "applied #2")
    assert [c["delivery"] for c in applier.calls] == [{"delivery_id": "d-1"}, {"delivery_id": "d-2"}]
    assert applier.calls[0]["message"] == "m"


def test_apply_once_keeps_teams_apart_for_the_same_delivery_id(team_id: str):
    applier = Applier()

    apply_once(applier.apply, team_id, "d-1", None)
    apply_once(applier.apply, f"{team_id}-other", "d-1", None)

    assert len(applier.calls) == 2
    [record] = _records(team_id)
    assert record["status"]["S"] == "COMPLETED"
    assert len(_records(f"{team_id}-other")) == 1


def test_apply_once_keeps_a_record_for_as_long_as_sqs_keeps_a_message(team_id: str):
    apply_once(Applier().apply, team_id, "d-1", None)

    [record] = _records(team_id)
    expires = int(record["expiration"]["N"])
    assert abs(expires - (time.time() + DELIVERY_IDEMPOTENCY_S)) < 60


def test_apply_once_applies_again_after_a_failed_apply(team_id: str):
    applier = Applier()

    with pytest.raises(RuntimeError):
        apply_once(applier.apply, team_id, "d-1", None, fail=True)
    result = apply_once(applier.apply, team_id, "d-1", None, fail=False)

    assert result == "applied #2", "the failed attempt left no record that skips the retry"


def test_apply_once_bounds_an_in_progress_record_by_the_lambda_timeout(team_id: str):
    apply_once(Applier().apply, team_id, "d-1", LambdaContext(remaining_ms=30_000))

    [record] = _records(team_id)
    in_progress_until = int(record["in_progress_expiration"]["N"]) / 1000
    assert time.time() < in_progress_until <= time.time() + 31, "a crashed invocation frees it at its timeout"
