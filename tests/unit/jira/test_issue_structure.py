"""Releases and structure read from an issue's fields, as tables: well-formed Jira values, and the
odd shapes a hostile or broken site sends (each left out, never an error)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from jira_onboarding.jira.structure import IssueLinkRef, VersionRef, read_structure, read_versions

BLOCKS = {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"}

# (case id, fields, attribute, expected)
TABLE = [
    (
        "components_by_name",
        {"components": [{"id": "1", "name": "API"}, {"name": "Web"}]},
        "components",
        ("API", "Web"),
    ),
    ("components_repeated_once", {"components": [{"name": "API"}, {"name": "API"}]}, "components", ("API",)),
    ("components_not_a_list", {"components": "API"}, "components", ()),
    (
        "fix_version",
        {"fixVersions": [{"id": "20001", "name": "1.2", "releaseDate": "2026-10-01"}]},
        "fix_versions",
        (VersionRef(id="20001", name="1.2"),),
    ),
    ("fix_version_without_id", {"fixVersions": [{"name": "1.2"}]}, "fix_versions", ()),
    (
        "fix_version_numeric_id",
        {"fixVersions": [{"id": 7, "name": "1.2"}]},
        "fix_versions",
        (VersionRef(id="7", name="1.2"),),
    ),
    ("resolution_name", {"resolution": {"id": "10000", "name": "Done"}}, "resolution", "Done"),
    ("resolution_null", {"resolution": None}, "resolution", None),
    ("due_date", {"duedate": "2026-11-03"}, "due_date", date(2026, 11, 3)),
    ("due_date_garbage", {"duedate": "soon"}, "due_date", None),
    (
        "status_category_changed_with_offset",
        {"statuscategorychangedate": "2026-10-08T07:04:25.376+0100"},
        "status_category_changed",
        datetime(2026, 10, 8, 7, 4, 25, 376000, tzinfo=timezone(timedelta(hours=1))),
    ),
    (
        "status_category_changed_naive_is_dropped",
        {"statuscategorychangedate": "2026-10-08T07:04:25"},
        "status_category_changed",
        None,
    ),
    (
        "outward_link",
        {"issuelinks": [{"id": "1", "type": BLOCKS, "outwardIssue": {"key": "ALPHA-3"}}]},
        "links",
        (IssueLinkRef(type="Blocks", direction="outward", key="ALPHA-3"),),
    ),
    (
        "inward_link",
        {"issuelinks": [{"id": "1", "type": BLOCKS, "inwardIssue": {"key": "BETA-9"}}]},
        "links",
        (IssueLinkRef(type="Blocks", direction="inward", key="BETA-9"),),
    ),
    (
        "link_with_a_malformed_key",
        {"issuelinks": [{"type": BLOCKS, "outwardIssue": {"key": "not a key"}}]},
        "links",
        (),
    ),
    ("link_without_type", {"issuelinks": [{"outwardIssue": {"key": "ALPHA-3"}}]}, "links", ()),
    ("nothing_at_all", {}, "links", ()),
]


@pytest.mark.parametrize(
    ("fields", "attribute", "expected"), [r[1:] for r in TABLE], ids=[r[0] for r in TABLE]
)
def test_read_structure_table(fields: dict, attribute: str, expected: object) -> None:
    assert getattr(read_structure(fields), attribute) == expected


def test_read_structure_bounds_what_it_keeps() -> None:
    fields = {"components": [{"name": f"C{n}"} for n in range(500)]}
    assert len(read_structure(fields).components) == 50


def test_read_versions_reads_the_versions_endpoint_and_drops_odd_entries() -> None:
    payload = [
        {
            "id": "20001",
            "name": "1.0",
            "released": True,
            "releaseDate": "2026-10-01",
            "startDate": "2026-09-10",
        },
        {"id": "20002", "name": "1.1", "released": False},
        {"name": "no id"},
        "junk",
    ]
    versions = read_versions(payload)
    assert [(v.id, v.released, v.release_date) for v in versions] == [
        ("20001", True, date(2026, 10, 1)),
        ("20002", False, None),
    ]
    assert read_versions({"values": payload}) == []  # not the bare array the endpoint answers
