"""The fleet's logic on moto: a schedule per team, and the one-off move of legacy secrets into the
credentials envelope (the wiring through MigrateConnectionsFunction is in tests/integration)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest
from jira_onboarding import aws
from jira_onboarding.dal.tables import JiraConnectionItem, bind_tables
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.connection.migrate import migrate_connections
from jira_onboarding.logic.connection.register import secret_name_for
from jira_onboarding.logic.jira_access.gateway import load_credentials
from jira_onboarding.logic.nightly.retry import nightly_run_id, start_team_night
from jira_onboarding.logic.nightly.schedules import ensure_nightly_schedule, schedule_name_for
from jira_onboarding.settings import get_settings

from tests.conftest import set_project_fields

REGION = "us-east-1"


@pytest.mark.parametrize(
    "team_id",
    ["team-1", "acme corp/eu", "x" * 200, "équipe:7"],
    ids=["plain", "spaces_and_slash", "very_long", "accents_and_colon"],
)
def test_schedule_name_for_is_a_valid_scheduler_name(team_id: str) -> None:
    name = schedule_name_for(team_id)

    assert re.fullmatch(r"[0-9A-Za-z_.-]{1,64}", name)
    assert name == schedule_name_for(team_id)


def test_schedule_name_for_keeps_teams_apart_whose_readable_part_is_the_same() -> None:
    assert schedule_name_for("a/b") != schedule_name_for("a:b")


def test_ensure_nightly_schedule_without_a_schedule_group_does_nothing(dynamodb_tables: None) -> None:
    assert ensure_nightly_schedule("team-1") is False


@pytest.fixture
def schedule_group(dynamodb_tables: None, monkeypatch: pytest.MonkeyPatch):
    boto3.client("scheduler", region_name=REGION).create_schedule_group(Name="nightly-unit")
    monkeypatch.setenv("NIGHTLY_SCHEDULE_GROUP", "nightly-unit")
    monkeypatch.setenv("NIGHTLY_FUNCTION_ARN", "arn:aws:lambda:us-east-1:123456789012:function:nightly")
    monkeypatch.setenv("NIGHTLY_SCHEDULE_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    get_settings.cache_clear()
    aws.clear_caches()
    yield "nightly-unit"
    boto3.client("scheduler", region_name=REGION).delete_schedule_group(Name="nightly-unit")
    monkeypatch.undo()
    get_settings.cache_clear()
    aws.clear_caches()


def test_ensure_nightly_schedule_creates_the_team_s_schedule_then_brings_it_up_to_date(
    schedule_group: str,
) -> None:
    assert ensure_nightly_schedule("team-s") is True
    assert ensure_nightly_schedule("team-s") is True  # the second call updates, never duplicates

    scheduler = boto3.client("scheduler", region_name=REGION)
    schedule = scheduler.get_schedule(Name=schedule_name_for("team-s"), GroupName=schedule_group)
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["FlexibleTimeWindow"]["Mode"] == "FLEXIBLE"
    assert json.loads(schedule["Target"]["Input"])["team_id"] == "team-s"
    assert len(scheduler.list_schedules(GroupName=schedule_group)["Schedules"]) == 1


def _legacy_connection(team: str) -> str:
    """A connection as registered before the envelope: its credentials in a secret of their own."""
    name = secret_name_for(team)
    bind_tables()
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=name, SecretString=json.dumps({"email": "a@b.c", "api_token": f"tok-{team}"})
    )
    JiraConnectionItem(
        team, site_url=f"https://{team}.atlassian.net", auth_kind="api_token", secret_name=name
    ).save()
    return name


def test_migrate_connections_moves_legacy_secrets_into_the_envelope_once(team_id: str) -> None:
    # Given two teams connected before the envelope
    teams = [team_id, f"{team_id}-b"]
    for team in teams:
        _legacy_connection(team)

    # When the migration pages through every connection, one a page
    result = migrate_connections(page_size=1)

    # Then both moved: the envelope holds the credentials and the secret is gone
    assert result.cursor is None and result.credentials_migrated >= 2 and result.teams >= 2
    for team in teams:
        repo = TeamStores(team)
        envelope, secret_name = repo.connection.read_credentials()
        assert envelope and secret_name is None
        assert load_credentials(team, repo)[0].api_token == f"tok-{team}"
    # and a second run moves nothing
    assert migrate_connections().credentials_migrated == 0


def test_migrate_connections_hands_back_its_cursor_when_time_runs_low(team_id: str) -> None:
    for team in (team_id, f"{team_id}-b"):
        _legacy_connection(team)

    result = migrate_connections(page_size=1, time_left_s=lambda: 0.0)

    assert result.teams == 1 and result.cursor is not None


NIGHT = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_start_team_night_refuses_a_night_already_started(team_id: str) -> None:
    repo = TeamStores(team_id)
    repo.runs.record(nightly_run_id(team_id, NIGHT), ["ALPHA"], trigger="nightly")

    result = start_team_night(team_id, NIGHT)

    assert result.refused_repeat is True and result.projects == 0


def test_start_team_night_with_nothing_to_run_gives_the_run_id_back(team_id: str) -> None:
    # Given a team whose only project a live run is still syncing
    repo = TeamStores(team_id)
    repo.runs.record("run-live", ["ALPHA"])
    set_project_fields(team_id, "ALPHA", sync_status="SYNCING", updated_at=datetime.now(UTC))

    result = start_team_night(team_id, NIGHT)

    # Then nothing starts, and tonight's run id is free again for a retry of the schedule
    assert (result.projects, result.skipped_in_progress, result.refused_repeat) == (0, 1, False)
    assert repo.runs.get(nightly_run_id(team_id, NIGHT)) is None
    assert start_team_night(team_id, NIGHT).refused_repeat is False
