"""Connections registered before the credentials envelope: moved off Secrets Manager, once."""

from __future__ import annotations

import json

import boto3
import pytest
from jira_onboarding.dal.tables import JiraConnectionItem, bind_tables
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.connection.register import secret_name_for
from jira_onboarding.logic.jira_access.gateway import load_credentials
from jira_onboarding.logic.jira_access.tokens import read_stored_credentials
from jira_onboarding.logic.nightly.schedules import schedule_name_for

from local_harness.stack import LocalStack

OAUTH = {
    "client_id": "c",
    "client_secret": "cs",
    "access_token": "at-1",
    "refresh_token": "rt-1",
    "expires_at": 4102444800.0,
}


def _legacy_connection(team: str, auth_kind: str, value: dict) -> str:
    """A connection as registered before the envelope: its credentials in a secret of their own."""
    name = secret_name_for(team)
    bind_tables()
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=name, SecretString=json.dumps(value)
    )
    JiraConnectionItem(
        team, site_url=f"https://{team}.atlassian.net", auth_kind=auth_kind, secret_name=name
    ).save()
    return name


def _secret_gone(name: str) -> bool:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    try:
        return "DeletedDate" in client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return True


def test_migration_moves_legacy_secrets_into_envelopes_deletes_them_and_schedules_every_team(
    stack: LocalStack,
):
    # Given an API-token and an OAuth connection from before the envelope, each with its secret
    api_secret = _legacy_connection("team-api", "api_token", {"email": "a@b.c", "api_token": "tok"})
    oauth_secret = _legacy_connection("team-oauth", "oauth", OAUTH)
    # (they still work before the migration: the secret is read)
    assert load_credentials("team-api", TeamStores("team-api"))[0].api_token == "tok"

    # When the migration function runs to its end
    name = stack.resolver.physical["MigrateConnectionsFunction"]
    result, error = stack.invoke(name, {"cursor": None})
    assert error is None, result

    # Then both moved, their secrets are deleted, and both teams have a nightly schedule
    assert (result["teams"], result["credentials_migrated"], result["schedules"], result["cursor"]) == (
        2,
        2,
        2,
        None,
    )
    assert _secret_gone(api_secret) and _secret_gone(oauth_secret)
    api = TeamStores("team-api").connection.get()
    assert api is not None and api.secret_name is None and api.credentials_envelope
    assert load_credentials("team-api", TeamStores("team-api"))[0].api_token == "tok"
    assert read_stored_credentials(TeamStores("team-oauth")) == OAUTH
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    group = stack.resolver.physical["NightlyScheduleGroup"]
    for team in ("team-api", "team-oauth"):
        assert scheduler.get_schedule(GroupName=group, Name=schedule_name_for(team))["State"] == "ENABLED"

    # When it runs again, nothing more moves
    again, error = stack.invoke(name, {"cursor": None})
    assert error is None and again["credentials_migrated"] == 0


@pytest.mark.parametrize("page_size", [1])
def test_migration_resumes_from_its_cursor(stack: LocalStack, page_size: int):
    for i in range(3):
        _legacy_connection(f"team-{i}", "api_token", {"email": "a@b.c", "api_token": f"tok-{i}"})
    from jira_onboarding.logic.connection.migrate import migrate_connections

    cursor, teams, moved = None, 0, 0
    for _ in range(10):
        page = migrate_connections(cursor, page_size=page_size, time_left_s=lambda: 0.0)
        teams, moved, cursor = teams + page.teams, moved + page.credentials_migrated, page.cursor
        if cursor is None:
            break
    assert (teams, moved) == (3, 3)
    for i in range(3):
        assert load_credentials(f"team-{i}", TeamStores(f"team-{i}"))[0].api_token == f"tok-{i}"
