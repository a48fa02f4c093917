"""Idempotency per Jira delivery: a delivery (its `X-Atlassian-Webhook-Identifier`) is applied once,
however often Jira retries it or SQS redelivers it. Powertools idempotency on the team's partition
of the idempotency table, as the start does (one persistence layer per execution environment: each
one built registers a hook on the client)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jira_onboarding import aws
from jira_onboarding.settings import get_settings

# Jira retries for hours at most, and an SQS message lives 4 days on the queue (the template).
DELIVERY_IDEMPOTENCY_S = 4 * 24 * 3600
_delivering_team: ContextVar[str] = ContextVar("delivering_team")


@lru_cache(maxsize=4)
def _idempotent(function: Callable[..., str], table_name: str, client: Any) -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    class DeliveryPersistenceLayer(DynamoDBPersistenceLayer):
        """The delivery's team as the partition key value, the delivery id's hash as the sort key."""

        @property  # type: ignore[override]
        def static_pk_value(self) -> str:
            return _delivering_team.get()

        @static_pk_value.setter
        def static_pk_value(self, value: str) -> None:
            pass  # each delivery's team is used instead

    store = DeliveryPersistenceLayer(
        table_name=table_name, key_attr="team_id", sort_key_attr="idempotency_key", boto3_client=client
    )
    config = IdempotencyConfig(event_key_jmespath="delivery_id", expires_after_seconds=DELIVERY_IDEMPOTENCY_S)
    return idempotent_function(
        function, data_keyword_argument="delivery", persistence_store=store, config=config
    ), config


def apply_once(
    function: Callable[..., str], team_id: str, delivery_id: str, context: Any, **kwargs: Any
) -> str:
    """`function(delivery=..., **kwargs)` once per (team, delivery id); a repeat returns the first result."""
    settings = get_settings()
    apply, config = _idempotent(
        function, settings.tables.idempotency, aws.client("dynamodb", settings.region)
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)  # a crashed invocation frees its records at its timeout
    token = _delivering_team.set(team_id)
    try:
        return str(apply(delivery={"delivery_id": delivery_id}, **kwargs))
    finally:
        _delivering_team.reset(token)
