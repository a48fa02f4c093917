"""One-off migration of the connections registered before the credentials envelope and the
per-team nightly schedules: read the old secret, write the envelope, delete the secret; and give
every connected team its schedule.

Paged and resumable: each call handles one Scan page of the connections table and returns its
cursor; MigrateConnectionsFunction loops pages while it has time and hands back the cursor.
Idempotent: a migrated connection is left as it is, a schedule is brought up to date.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from jira_onboarding.dal.connections import connections_page
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.jira_access.tokens import delete_legacy_secret, read_stored_credentials, seal_for
from jira_onboarding.logic.nightly.schedules import ensure_nightly_schedule
from jira_onboarding.observability import logger

PAGE_SIZE = 100
TIME_RESERVE_S = 30.0  # a page of 100 connections takes well under this


class MigrationResult(BaseModel):
    teams: int = 0
    credentials_migrated: int = 0
    schedules: int = 0
    cursor: dict[str, Any] | None = None  # None: every connection has been looked at


def migrate_connection(team_id: str) -> bool:
    """Move one team's credentials from its secret into the envelope; True if it moved now."""
    repo = TeamStores(team_id)
    for _ in range(2):  # a token rotation may store the envelope between the read and the write
        envelope, secret_name = repo.connection.read_credentials()
        if not secret_name:
            return False
        new = None if envelope else seal_for(team_id, read_stored_credentials(repo))
        if repo.connection.migrate_credentials(new, secret_name=secret_name):
            delete_legacy_secret(secret_name)
            return True
    return False


def migrate_connections(
    cursor: dict[str, Any] | None = None,
    *,
    page_size: int = PAGE_SIZE,
    time_left_s: Callable[[], float] | None = None,
) -> MigrationResult:
    """Migrate pages of connections from `cursor` until the end or until time runs low."""
    result = MigrationResult(cursor=cursor)
    while True:
        teams, result.cursor = connections_page(result.cursor, page_size)
        for team_id in teams:
            result.credentials_migrated += migrate_connection(team_id)
            result.schedules += ensure_nightly_schedule(team_id)
        result.teams += len(teams)
        if result.cursor is None or (time_left_s is not None and time_left_s() < TIME_RESERVE_S):
            break
    logger.info("Connections migrated", extra=result.model_dump(exclude={"cursor"}))
    return result
