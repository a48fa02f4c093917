"""The progress the onboarding page shows for each project, from the project's stored state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jira_onboarding.logic.run.status import _progress, to_iso
from jira_onboarding.records import TrackedProject

AT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


def _project(**values: Any) -> TrackedProject:
    return TrackedProject(team_id="t", project_key="ALPHA", updated_at=AT, **values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"sync_status": "PENDING"}, {"status": "PENDING", "issues_stored": 0, "percent": None}),
        (
            {
                "sync_status": "SYNCING",
                "sync_mode": "full",
                "issues_fetched": 50,
                "issues_total_estimate": 200,
                "phase": "recent",
            },
            {"status": "SYNCING", "issues_stored": 50, "percent": 25, "phase": "recent"},
        ),
        # The first page stored ahead of its batch counts until the batch overtakes it, never twice
        (
            {
                "sync_status": "SYNCING",
                "sync_mode": "full",
                "issues_fetched": 0,
                "issues_previewed": 100,
                "issues_total_estimate": 120,
            },
            {"issues_stored": 100, "percent": 83},
        ),
        (
            {
                "sync_status": "SYNCING",
                "sync_mode": "full",
                "issues_fetched": 120,
                "issues_previewed": 100,
                "issues_total_estimate": 120,
            },
            {"issues_stored": 120, "percent": 99},  # not 100 before the project is COMPLETE
        ),
        ({"sync_status": "SYNCING", "issues_total_estimate": 0}, {"percent": 0}),
        # A full sync over older data shows its progress, not what the store held before it
        (
            {"sync_status": "SYNCING", "sync_mode": "full", "issues_fetched": 30, "issues_stored": 500},
            {"issues_stored": 30},
        ),
        # and a failed one what it fetched before failing
        (
            {"sync_status": "FAILED", "sync_mode": "full", "issues_fetched": 30, "issues_stored": 500},
            {"issues_stored": 30, "status": "FAILED"},
        ),
        # An incremental run shows what the store holds, not the few issues it fetched again
        (
            {"sync_status": "SYNCING", "sync_mode": "incremental", "issues_fetched": 3, "issues_stored": 500},
            {"issues_stored": 500, "percent": None},
        ),
        (
            {"sync_status": "COMPLETE", "issues_stored": 7, "issues_previewed": 9, "phase": "backfill"},
            {"issues_stored": 7, "percent": 100, "phase": None},
        ),
        (
            {
                "sync_status": "FAILED",
                "reason": "No access.",
                "next_retry_at": AT,
                "issues_total_estimate": 10,
            },
            {"percent": 0, "reason": "No access.", "next_retry_at": AT.isoformat()},
        ),
        # A reason left from an earlier failure is not shown once the project syncs again
        (
            {"sync_status": "SYNCING", "reason": "old", "next_retry_at": AT},
            {"reason": None, "next_retry_at": None},
        ),
    ],
)
def test_progress_shows_what_the_project_holds(values: dict[str, Any], expected: dict[str, Any]) -> None:
    progress = _progress(_project(**values)).model_dump()

    assert {key: progress[key] for key in expected} == expected
    assert progress["updated_at"] == AT.isoformat()


@pytest.mark.parametrize(("value", "expected"), [(None, None), (AT, "2026-12-01T21:00:00+00:00")])
def test_to_iso_keeps_an_absent_time_absent(value: datetime | None, expected: str | None) -> None:
    assert to_iso(value) == expected
