"""Run ids: they sort in the order the runs started, so "the latest run" is a one-item Query."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_lock = threading.Lock()
_last_micros = 0


def status_url(run_id: str) -> str:
    """Where a run's progress is read (GET /jira/onboarding/{run_id})."""
    return f"/jira/onboarding/{run_id}"


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def new_run_id(team_id: str, project_keys: list[str], now: datetime | None = None) -> str:
    """`run-<UTC start to the microsecond>-<hash>`, valid as an execution name.

    The fixed-width time decides the order; the hash of the team, the selection and the time only
    keeps ids of different teams apart. Within a process the time is strictly increasing (a
    repeated or stepped-back clock gives the last time plus one microsecond), so two runs started
    in the same second, or the same microsecond, still sort in the order they started. An id of
    the older format (`run-<...T%H%M%S>-<hash>`, second resolution) sorts before every id of the
    same second in this one ('-' sorts before the digits).
    """
    global _last_micros  # noqa: PLW0603 - the process-wide clock guard
    with _lock:
        micros = max(_micros(now or datetime.now(UTC)), _last_micros + 1)
        _last_micros = micros
    started = _EPOCH + timedelta(microseconds=micros)
    digest = hashlib.sha256(
        f"{team_id}|{','.join(sorted(project_keys))}|{started.isoformat()}".encode()
    ).hexdigest()
    return f"run-{started:%Y%m%dT%H%M%S%f}-{digest[:8]}"
