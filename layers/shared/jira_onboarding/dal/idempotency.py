"""Powertools idempotency on the team's partition of the idempotency table: the one set-up of it
(the start's selection, a live delivery). The team is the partition key value, the idempotency
key's hash the sort key, so no team's record can answer another team's request.

Built once per execution environment, function and table client (`lru_cache` at the callers'
`team_partitioned`): each persistence layer built registers a User-Agent hook on the client, so one
per request (or per team) piled up hooks that every later DynamoDB call ran."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

_team: ContextVar[str] = ContextVar("idempotent_team")


@lru_cache(maxsize=8)
def team_partitioned(
    function: Callable[..., Any],
    *,
    data_keyword_argument: str,
    event_key_jmespath: str,
    expires_after_seconds: int,
    table_name: str,
    client: Any,
) -> tuple[Callable[..., Any], Any]:
    """`function` behind Powertools idempotency keyed within the team `for_team` names, and its
    config (to register the Lambda context with)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    class TeamPartitionedPersistenceLayer(DynamoDBPersistenceLayer):
        """Powertools' DynamoDB layer with the current team as the partition key value
        (`static_pk_value`, read when a record's key is built)."""

        @property  # type: ignore[override]
        def static_pk_value(self) -> str:
            return _team.get()

        @static_pk_value.setter
        def static_pk_value(self, value: str) -> None:
            pass  # the constructor's value: the team of each call is used instead

    store = TeamPartitionedPersistenceLayer(
        table_name=table_name, key_attr="team_id", sort_key_attr="idempotency_key", boto3_client=client
    )
    config = IdempotencyConfig(
        event_key_jmespath=event_key_jmespath, expires_after_seconds=expires_after_seconds
    )
    wrapped = idempotent_function(
        function, data_keyword_argument=data_keyword_argument, persistence_store=store, config=config
    )
    return wrapped, config


@contextmanager
def for_team(team_id: str, lambda_context: Any, config: Any) -> Iterator[None]:
    """Calls of a `team_partitioned` function in this block are keyed within `team_id`; an
    invocation that dies mid-call frees its in-progress record when its time runs out."""
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    token = _team.set(team_id)
    try:
        yield
    finally:
        _team.reset(token)
