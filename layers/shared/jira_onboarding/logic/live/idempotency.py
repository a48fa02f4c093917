"""Idempotency per Jira delivery: a delivery (its `X-Atlassian-Webhook-Identifier`) is applied once,
however often Jira retries it or SQS redelivers it. Powertools idempotency on the team's partition
of the idempotency table (dal/idempotency.py, as the start)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jira_onboarding import aws
from jira_onboarding.dal.idempotency import for_team, team_partitioned
from jira_onboarding.settings import get_settings

# Jira retries for hours at most, and an SQS message lives 4 days on the queue (the template).
DELIVERY_IDEMPOTENCY_S = 4 * 24 * 3600


def apply_once(
    function: Callable[..., str], team_id: str, delivery_id: str, context: Any, **kwargs: Any
) -> str:
    """`function(delivery=..., **kwargs)` once per (team, delivery id); a repeat returns the first result."""
    settings = get_settings()
    apply, config = team_partitioned(
        function,
        data_keyword_argument="delivery",
        event_key_jmespath="delivery_id",
        expires_after_seconds=DELIVERY_IDEMPOTENCY_S,
        table_name=settings.tables.idempotency,
        client=aws.client("dynamodb", settings.region),
    )
    with for_team(team_id, context, config):
        return str(apply(delivery={"delivery_id": delivery_id}, **kwargs))
