"""Releases and structure of an issue, read defensively from its search fields: components, fix
versions, resolution, due date, when the status category last changed, and issue links (type,
direction, target key). A value of the wrong shape is left out (or null), never an error: one odd
issue must not fail a page. The project's versions (with their release dates) are read here too.
"""

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

STRUCTURE_FIELDS = (
    "components",
    "fixVersions",
    "resolution",
    "duedate",
    "statuscategorychangedate",
    "issuelinks",
)
MAX_ITEMS = 50  # components, versions or links kept per issue: beyond that it is noise, not structure
MAX_NAME = 255
_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class VersionRef(_Frozen):
    id: str
    name: str


class IssueLinkRef(_Frozen):
    type: str  # the link type's name: Blocks, Relates, Duplicate, ...
    direction: str  # outward (this issue blocks the target) | inward (the target blocks it)
    key: str  # the target issue's key


class IssueStructure(_Frozen):
    components: tuple[str, ...] = ()
    fix_versions: tuple[VersionRef, ...] = ()
    resolution: str | None = None
    due_date: date | None = None
    status_category_changed: datetime | None = None
    links: tuple[IssueLinkRef, ...] = ()


class ProjectVersion(_Frozen):
    """A project version (`GET /rest/api/3/project/{key}/versions`)."""

    id: str
    name: str
    released: bool = False
    archived: bool = False
    release_date: date | None = None
    start_date: date | None = None


def _name(value: Any) -> str | None:
    name = value.get("name") if isinstance(value, dict) else None
    return name[:MAX_NAME] if isinstance(name, str) and name.strip() else None


def _id(value: Any) -> str | None:
    raw = value.get("id") if isinstance(value, dict) else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return raw if isinstance(raw, str) and raw.isdigit() and len(raw) <= 20 else None


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _list(value: Any) -> list[Any]:
    return value[:MAX_ITEMS] if isinstance(value, list) else []


def _link(value: Any) -> IssueLinkRef | None:
    if not isinstance(value, dict):
        return None
    type_name = _name(value.get("type"))
    for direction in ("outward", "inward"):
        target = value.get(f"{direction}Issue")
        key = target.get("key") if isinstance(target, dict) else None
        if type_name and isinstance(key, str) and _KEY.match(key):
            return IssueLinkRef(type=type_name, direction=direction, key=key)
    return None


def read_structure(fields: dict[str, Any]) -> IssueStructure:
    """The issue's releases and structure from its search `fields` (defensive: see the module)."""
    versions = []
    for value in _list(fields.get("fixVersions")):
        vid, name = _id(value), _name(value)
        if vid and name:
            versions.append(VersionRef(id=vid, name=name))
    links = [link for link in (_link(v) for v in _list(fields.get("issuelinks"))) if link is not None]
    return IssueStructure(
        components=tuple(dict.fromkeys(n for n in (_name(c) for c in _list(fields.get("components"))) if n)),
        fix_versions=tuple(dict.fromkeys(versions)),
        resolution=_name(fields.get("resolution")),
        due_date=_date(fields.get("duedate")),
        status_category_changed=_datetime(fields.get("statuscategorychangedate")),
        links=tuple(dict.fromkeys(links)),
    )


def read_versions(payload: Any) -> list[ProjectVersion]:
    """The versions endpoint's answer (a bare array); entries of the wrong shape are left out."""
    out = []
    for value in payload if isinstance(payload, list) else []:
        vid, name = _id(value), _name(value)
        if not (vid and name):
            continue
        out.append(
            ProjectVersion(
                id=vid,
                name=name,
                released=value.get("released") is True,
                archived=value.get("archived") is True,
                release_date=_date(value.get("releaseDate")),
                start_date=_date(value.get("startDate")),
            )
        )
    return out
