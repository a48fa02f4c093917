"""Writing items of any table in batches (BatchWriteItem), with backoff for capacity refusals.

Kept beside dal/tables.py (which re-exports it) so that the models' module stays their definitions.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from pynamodb.attributes import Attribute, MapAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import AttributeNullError
from pynamodb.models import Model

from jira_onboarding.errors import DynamoDBThrottledError
from jira_onboarding.settings import get_settings

_batches: Connection | None = None
_PUT_ATTEMPTS = 8
_THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def forget_connection() -> None:
    """Drop the batch connection (the tables were bound again)."""
    global _batches  # noqa: PLW0603 - cached per process like the models' connections
    _batches = None


class SerializedItem(NamedTuple):
    """An item of `model`'s table as DynamoDB takes it (see `serialize_values`)."""

    model: type[Model]
    attributes: dict[str, dict[str, Any]]


def serialize_values(model: type[Model], values: dict[str, Any]) -> SerializedItem:
    """What `model(**values).serialize()` gives, without building the model: its descriptors cost
    more than the write itself when a batch stores 1,000 issues. Same defaults, same null checks;
    for models without map attributes (tests/unit/dal/test_tables.py compares the two)."""
    attributes = _plain_attributes(model)
    unknown = values.keys() - attributes.keys()
    if unknown:
        raise ValueError(f"Attribute {sorted(unknown)[0]} specified does not exist")
    out: dict[str, dict[str, Any]] = {}
    for name, attribute in attributes.items():
        if name in values:
            value = values[name]
        else:
            default = (
                attribute.default_for_new if attribute.default_for_new is not None else attribute.default
            )
            value = default() if callable(default) else default
        serialized = None if value is None else attribute.serialize(value)
        if serialized is None:
            if not attribute.null:
                raise AttributeNullError(name)
            continue
        out[attribute.attr_name] = {attribute.attr_type: serialized}
    return SerializedItem(model, out)


@functools.cache
def _plain_attributes(model: type[Model]) -> dict[str, Attribute[Any]]:
    attributes = model.get_attributes()
    if getattr(model, "_discriminator", None) or any(
        isinstance(a, MapAttribute) for a in attributes.values()
    ):
        raise TypeError(f"{model.__name__} has map or discriminator attributes: build the model instead")
    return dict(attributes)


def put_items(items: Sequence[Model | SerializedItem], *, threads: int = 1) -> None:
    """Put items of any of the tables with one BatchWriteItem per 25 of them (PynamoDB's batches
    are one table each, one request after another), sent by up to `threads` threads at once.
    Unprocessed items are sent again with a backoff. Not atomic: a failure leaves some written."""
    # DynamoDB refuses a batch naming one key twice: the last item of a key wins, as puts would.
    latest: dict[tuple[Any, ...], tuple[str, dict[str, dict[str, Any]]]] = {}
    for item in items:
        if isinstance(item, SerializedItem):
            model, attributes = item.model, item.attributes
        else:
            model, attributes = type(item), item.serialize()
        table = model.Meta.table_name
        key = tuple(next(iter(attributes[name].items())) for name in _key_names(model))
        latest[(table, *key)] = (table, attributes)
    puts = list(latest.values())
    requests: list[dict[str, list[dict[str, Any]]]] = []
    for start in range(0, len(puts), 25):
        request: dict[str, list[dict[str, Any]]] = {}
        for table, attributes in puts[start : start + 25]:
            request.setdefault(table, []).append({"PutRequest": {"Item": attributes}})
        requests.append(request)
    if threads > 1 and len(requests) > 1:
        with ThreadPoolExecutor(max_workers=min(threads, len(requests)), thread_name_prefix="put") as pool:
            list(pool.map(_batch_write, requests))  # list(): re-raises the first failure
    else:
        for request in requests:
            _batch_write(request)


@functools.cache
def _key_names(model: type[Model]) -> tuple[str, ...]:
    """The key attributes' names in DynamoDB."""
    attributes = model.get_attributes().values()
    return tuple(a.attr_name for a in attributes if a.is_hash_key or a.is_range_key)


def _batch_write(request: dict[str, list[dict[str, Any]]]) -> None:
    """One BatchWriteItem, its unprocessed items and throttled answers sent again with capped
    exponential backoff and full jitter (writers in step would all come back at once); past
    _PUT_ATTEMPTS a DynamoDBThrottledError, which the state machine retries."""
    global _batches  # noqa: PLW0603 - cached per process like the models' connections
    if _batches is None:
        # A connection of our own: a new one per call would build a botocore client, ~10 ms.
        _batches = Connection(region=get_settings().region)
    for attempt in range(_PUT_ATTEMPTS):
        try:
            answer = _batches.dispatch("BatchWriteItem", {"RequestItems": request})
        except Exception as exc:
            if not is_throttling(exc):
                raise
        else:
            request = answer.get("UnprocessedItems") or {}
            if not request:
                return
        time.sleep(random.uniform(0, min(0.05 * 2**attempt, 2.0)))
    raise DynamoDBThrottledError(f"DynamoDB kept {sum(map(len, request.values()))} items back (throttled)")


def is_throttling(exc: BaseException) -> bool:
    """Whether a DynamoDB call failed for capacity (after botocore's own retries)."""
    code = getattr(exc, "cause_response_code", None)
    if code is None:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code in _THROTTLING_CODES
