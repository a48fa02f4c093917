"""What every store shares: turning an item into a record's fields, and reading a failed condition."""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model


def as_dict(item: Model) -> dict[str, Any]:
    """The item's attributes as a record model validates them (absent ones take its defaults)."""
    data: dict[str, Any] = {}
    for name in item.get_attributes():
        value = getattr(item, name)
        if isinstance(value, set):
            value = sorted(value)
        elif value is None:
            continue  # absent attributes take the record's default
        elif hasattr(value, "as_dict"):
            value = value.as_dict()
        data[name] = value
    return data


def is_conditional_failure(exc: Exception) -> bool:
    """Whether a PynamoDB write failed on its condition (not on DynamoDB or the network)."""
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def require_team(team_id: str) -> str:
    if not team_id:
        raise ValueError("a team id is required for every data access")
    return team_id
