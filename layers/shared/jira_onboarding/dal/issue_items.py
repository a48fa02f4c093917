"""The stored issue item, derived from the `JiraIssue` model: each field of the model is an attribute
of the item under the same name (but `ITEM_NAMES`), of the kind its type says, and is written and read
back without a line per field. A new Jira field is then one change to the model (and its parsing),
with its test; the item's own bookkeeping (`ITEM_ONLY`) is declared on `JiraIssueItem`.
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from jira_onboarding.jira.models import FieldChange, JiraIssue

# The declared exceptions. Model fields stored under another name: the item's range key is the
# issue key, and `id` alone would not say whose.
ITEM_NAMES = {"key": "issue_key", "id": "issue_id"}
RANGE_KEY_FIELD = "key"  # declared on JiraIssueItem itself, as the table's key schema
# Attributes of the item that are no field of the model: the store's own bookkeeping.
ITEM_ONLY = ("team_id", "deleted", "content_hash", "run_id", "synced_at")

_SCALAR_ATTRIBUTES: dict[Any, type[Attribute]] = {
    str: UnicodeAttribute,
    bool: BooleanAttribute,
    int: NumberAttribute,
    float: NumberAttribute,
    datetime: UTCDateTimeAttribute,
}


def item_name(field: str) -> str:
    """The item attribute that holds a model field."""
    return ITEM_NAMES.get(field, field)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of `X | None`, `Optional[X]` or `X`."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _attribute(name: str, field: FieldInfo) -> Attribute:
    """The PynamoDB attribute for one model field, by its type: scalars as themselves, tuples of
    scalars as lists, models (and tuples of them) as JSON."""
    kind, _ = _without_none(field.annotation)
    if get_origin(kind) is tuple:
        element = get_args(kind)[0]
        if _is_model(element):
            return JSONAttribute(null=True)  # an empty tuple is stored as no attribute
        if element in _SCALAR_ATTRIBUTES:
            return ListAttribute(of=_SCALAR_ATTRIBUTES[element], default=list)
    elif _is_model(kind):
        return JSONAttribute(null=True)
    elif kind in _SCALAR_ATTRIBUTES:
        attribute = _SCALAR_ATTRIBUTES[kind]
        if field.is_required():
            return attribute()
        if field.default is None:
            return attribute(null=True)
        return attribute(default=field.default)
    raise TypeError(
        f"JiraIssue.{name}: no stored kind for {field.annotation!r} (dal/issue_items.py knows "
        "str, bool, int, float, datetime, models, and tuples of those)"
    )


def item_attributes(model: type[BaseModel] = JiraIssue) -> dict[str, Attribute]:
    """The item's attributes for the model's fields (the range key left to `JiraIssueItem`)."""
    return {
        item_name(name): _attribute(name, field)
        for name, field in model.model_fields.items()
        if name != RANGE_KEY_FIELD
    }


def _json(value: BaseModel) -> Any:
    if isinstance(value, FieldChange):  # compact, as the metrics read histories back
        return {"at": value.at.isoformat(), "from": value.from_value, "to": value.to_value}
    return value.model_dump(mode="json")


def _stored(value: Any, annotation: Any) -> Any:
    kind, _ = _without_none(annotation)
    if value is None:
        return None
    if get_origin(kind) is tuple:
        if _is_model(get_args(kind)[0]):
            return [_json(v) for v in value] or None  # no history: no attribute
        return list(value)
    return _json(value) if _is_model(kind) else value


def issue_values(issue: BaseModel) -> dict[str, Any]:
    """The model's fields as the item's attribute values (without the bookkeeping)."""
    return {
        item_name(name): _stored(getattr(issue, name), field.annotation)
        for name, field in type(issue).model_fields.items()
    }


def issue_from_values(values: dict[str, Any]) -> JiraIssue:
    """The issue from the item's attribute values: an absent (None) value takes the field's
    default, and the model validates the rest (lists to tuples, JSON to models)."""
    present = {}
    for name in JiraIssue.model_fields:
        value = values.get(item_name(name))
        if value is not None:
            present[name] = value
    return JiraIssue.model_validate(present)
