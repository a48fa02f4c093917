"""Defensive readers of Jira's field values: a value of the wrong shape becomes None (and is
counted), never an exception with raw Python text. Used by the models at the boundary."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any

# Items are bounded by design (DynamoDB refuses an item over 400 KB): text is cut, lists are capped.
MAX_TEXT = 1000  # a summary; Jira's own limit is 255 characters
MAX_NAME = 255  # names, ids, labels
MAX_LABELS = 100
MAX_SPRINTS = 100


def parse_jira_datetime(value: Any) -> datetime | None:
    """Jira writes `2021-05-08T07:04:25.376+0100` on issues and `...000Z` on sprints;
    Python 3.11's fromisoformat reads both. Naive values are rejected: they would be ambiguous."""
    if value in (None, ""):
        return None
    if not isinstance(value, str | datetime) or (isinstance(value, str) and len(value) > 64):
        raise ValueError("Jira date is not a short string")
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"Jira date without a timezone: {value!r}")
    return parsed


_SERVER_SPRINT_ID = re.compile(r"\[id=(\d+)[,\]]")


def text(value: Any, limit: int) -> str | None:
    """A string field, cut to `limit`; anything else (a number, a list, a dict) is None."""
    return value[:limit] if isinstance(value, str) else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def account_id(value: Any) -> str | None:
    found = obj(value)
    return text(found.get("accountId") or found.get("name") or found.get("key"), MAX_NAME)


def points(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        points = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return points if math.isfinite(points) and abs(points) < 1e9 else None


class FieldReader:
    """Reads one issue's fields; a field of the wrong shape becomes None and is counted."""

    def __init__(self, fields: dict[str, Any], problems: Counter[str] | None) -> None:
        self.fields = fields
        self.problems = problems if problems is not None else Counter()

    def bad(self, name: str) -> None:
        self.problems[name] += 1

    def date(self, name: str) -> datetime | None:
        try:
            return parse_jira_datetime(self.fields.get(name))
        except (ValueError, TypeError, OverflowError):
            self.bad(name)
            return None

    def name_of(self, name: str) -> str | None:
        return text(obj(self.fields.get(name)).get("name"), MAX_NAME)

    def labels(self) -> tuple[str, ...]:
        raw = self.fields.get("labels")
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.bad("labels")
            return ()
        return tuple(label[:MAX_NAME] for label in raw[:MAX_LABELS] if isinstance(label, str))

    def sprint_ids(self, field_id: str | None) -> tuple[int, ...]:
        sprints = self.fields.get(field_id) if field_id else None
        if isinstance(sprints, dict):
            sprints = [sprints]  # recorded payloads hold `{}` (no sprint) or a single object here
        if not isinstance(sprints, list):
            if sprints is not None:
                self.bad("sprint")
            return ()
        ids: set[int] = set()
        for sprint in sprints[:MAX_SPRINTS]:
            raw = sprint.get("id") if isinstance(sprint, dict) else None
            if isinstance(sprint, str) and (found := _SERVER_SPRINT_ID.search(sprint[:MAX_TEXT])):
                # Jira Server and old Cloud render a sprint as "...Sprint@1a2b[id=12,rapidViewId=3,...]".
                raw = found.group(1)
            if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 2**53:
                ids.add(raw)
            elif isinstance(raw, str) and raw.isdigit() and len(raw) <= 15:
                ids.add(int(raw))
            elif sprint not in ({}, None):
                self.bad("sprint")
        return tuple(sorted(ids))
