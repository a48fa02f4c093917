"""Registering a connection, the feature flag, and the idempotent start."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from jira_onboarding.credentials import unseal
from jira_onboarding.dal.team import TeamStores, dump_team
from jira_onboarding.errors import NotConnectedError
from jira_onboarding.settings import get_settings
from pynamodb.connection import Connection

from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM, set_project_fields


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """A self-hosted deployment (AllowApiTokenConnections=true): these connect with API tokens,
    which the SaaS default refuses (tests/integration/test_oauth_connect_flow.py)."""
    with LocalStack(parameters={"AllowApiTokenConnections": "true"}) as local:
        yield local


def _connect(stack: LocalStack, team: str, **body) -> tuple[int, dict]:
    status, _, answer = stack.http("POST", "/jira/connection", team_id=team, body=body)
    return status, answer


def test_connection_is_checked_stored_and_its_secret_kept_out_of_tables(stack: LocalStack, jira_url):
    status, answer = _connect(
        stack, TEAM, site_url=jira_url, auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN
    )

    assert status == 201, answer
    assert answer["site_url"] == jira_url
    assert SIM_TOKEN not in json.dumps(answer)
    dumped = json.dumps(list(dump_team(TEAM)), default=str)
    assert SIM_TOKEN not in dumped  # the token is stored envelope-encrypted only
    connection = TeamStores(TEAM).connection.get()
    assert connection is not None and connection.secret_name is None
    assert SIM_TOKEN not in connection.model_dump_json()
    envelope = connection.credentials_envelope or ""
    # With the token, the admin webhook's signing secret, handed over in this one answer and kept
    # nowhere else.
    webhook_secret = answer["live_updates"]["secret"]
    assert unseal(TEAM, envelope, region="us-east-1") == {
        "email": SIM_EMAIL,
        "api_token": SIM_TOKEN,
        "webhook_secret": webhook_secret,
    }
    assert webhook_secret not in dumped
    # No secret per team: the only one is the deployment's own, its OAuth app's.
    names = [
        x["Name"]
        for x in boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"]
    ]
    assert names == ["jira-onboarding/local/oauth-app"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"auth_kind": "api_token", "email": "a@b.c", "api_token": "x"}, ["exactly one of site_url"]),
        (
            {
                "site_url": "ftp://acme.atlassian.net",
                "auth_kind": "api_token",
                "email": "a@b.c",
                "api_token": "x",
            },
            ["https"],
        ),
        (
            {"site_url": "https://acme.atlassian.net", "auth_kind": "api_token", "email": "a@b.c"},
            ["needs api_token"],
        ),
        ({"site_url": "https://acme.atlassian.net", "auth_kind": "password"}, ["auth_kind"]),
        (
            {
                "site_url": "https://acme.atlassian.net",
                "auth_kind": "api_token",
                "email": "a@b.c",
                "api_token": "tök",
            },
            ["ASCII"],
        ),
        (
            {
                "site_url": "https://acme atlassian.net",
                "auth_kind": "api_token",
                "email": "a@b.c",
                "api_token": "x",
            },
            ["base URL"],
        ),
        ({"cloud_id": "0a1b2c3d-0000", "auth_kind": "bearer", "access_token": "t\u00f6ken"}, ["ASCII"]),
    ],
)
def test_connection_with_bad_input_is_400_and_stores_nothing(stack: LocalStack, body, words):
    status, answer = _connect(stack, TEAM, **body)
    assert status == 400
    for word in words:
        assert word in answer["message"]
    assert TeamStores(TEAM).connection.get() is None


def test_connection_with_refused_credentials_is_400_and_stores_nothing(stack: LocalStack, jira_url):
    status, answer = _connect(
        stack, TEAM, site_url=jira_url, auth_kind="api_token", email=SIM_EMAIL, api_token="wrong"
    )
    assert status == 400
    assert "refused the credentials" in answer["message"]
    assert "wrong" not in answer["message"]
    assert TeamStores(TEAM).connection.get() is None


def test_connection_to_an_unreachable_site_is_400(stack: LocalStack):
    status, answer = _connect(
        stack,
        TEAM,
        site_url="http://127.0.0.1:9",
        auth_kind="api_token",
        email=SIM_EMAIL,
        api_token=SIM_TOKEN,
    )
    assert status == 400
    assert "Cannot reach Jira" in answer["message"]


def test_same_selection_posted_twice_gives_one_run_and_one_execution(stack: LocalStack, connected_team):
    first = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS", "ALPHA"]})
    second = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "OPS"]})

    assert first[0] == second[0] == 202
    assert first[2]["run_id"] == second[2]["run_id"]
    assert len(stack.list_executions()) == 1
    stack.wait_for_executions()


def test_another_team_posting_the_same_selection_gets_its_own_run(
    stack: LocalStack, connected_team, jira_url
):
    from tests.conftest import connect_team

    connect_team("team-other", jira_url)
    mine = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})[2]
    theirs = stack.http("POST", "/jira/onboarding", team_id="team-other", body={"project_keys": ["OPS"]})[2]
    assert mine["run_id"] != theirs["run_id"]
    assert len(stack.list_executions()) == 2
    stack.wait_for_executions()


def test_changed_selection_starts_a_new_run_and_stops_tracking_what_was_left_out(
    stack: LocalStack, connected_team
):
    first = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "BETA"]})[2]
    second = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "OPS"]})[2]
    stack.wait_for_executions()

    assert first["run_id"] != second["run_id"]
    projects = {p.project_key: p for p in TeamStores(TEAM).projects.list_tracked()}
    assert projects["ALPHA"].run_id == second["run_id"]
    assert projects["ALPHA"].sync_status == "COMPLETE"
    assert projects["OPS"].sync_status == "COMPLETE"
    assert projects["BETA"].selected is False
    code, _, status = stack.http("GET", second["status_url"], team_id=TEAM)
    assert code == 200
    assert {p["project_key"] for p in status["projects"]} == {"ALPHA", "OPS"}


def test_tracking_a_new_selection_keeps_stored_data_and_untracks_what_was_left_out(stack: LocalStack):
    # Given two projects a previous run synced
    repo = TeamStores(TEAM)
    repo.runs.record("run-1", ["ALPHA", "BETA"])
    synced_at = datetime(2026, 11, 1, tzinfo=UTC)
    for key in ("ALPHA", "BETA"):
        set_project_fields(
            TEAM,
            key,
            sync_status="COMPLETE",
            last_synced_at=synced_at,
            last_swept_at=synced_at,
            estimation_field="customfield_10016",
            issues_stored=120,
            pages_synced=3,
        )

    # When a new run tracks ALPHA and OPS only
    dropped = repo.runs.record("run-2", ["ALPHA", "OPS"], untrack_others=True)

    # Then ALPHA starts afresh for the new run but keeps what it knows of its stored data
    assert dropped == ["BETA"]
    projects = {p.project_key: p for p in repo.projects.list_tracked()}
    alpha = projects["ALPHA"]
    assert (alpha.run_id, alpha.sync_status, alpha.pages_synced) == ("run-2", "PENDING", 0)
    assert (alpha.last_synced_at, alpha.last_swept_at) == (synced_at, synced_at)
    assert (alpha.estimation_field, alpha.issues_stored) == ("customfield_10016", 120)
    assert (projects["OPS"].run_id, projects["OPS"].issues_stored) == ("run-2", 0)
    # and BETA is no longer selected, with everything else as it was
    beta = projects["BETA"]
    assert (beta.selected, beta.run_id, beta.sync_status) == (False, "run-1", "COMPLETE")
    assert (beta.issues_stored, beta.pages_synced, beta.last_synced_at) == (120, 3, synced_at)
    # and a run that only refreshes some projects (the nightly batch) untracks nothing
    assert repo.runs.record("run-3", ["OPS"]) == []
    assert repo.projects.get("ALPHA").selected is True
    # and each run is recorded with its projects
    assert [repo.runs.get(r).project_keys for r in ("run-1", "run-2", "run-3")] == [
        ["ALPHA", "BETA"],
        ["ALPHA", "OPS"],
        ["OPS"],
    ]


def test_a_run_that_requires_a_connection_writes_nothing_without_one(stack: LocalStack):
    # Given a team that never registered a connection
    repo = TeamStores("team-without-jira")

    # When a run that needs the connection is recorded
    with pytest.raises(NotConnectedError):
        repo.runs.record("run-1", ["ALPHA"], require_connection=True)

    # Then neither the run nor its project was written
    assert repo.runs.get("run-1") is None
    assert repo.projects.list_tracked() == []


def test_flag_off_records_the_selection_pending_for_the_nightly_job(
    stack: LocalStack, connected_team, monkeypatch
):
    monkeypatch.setenv("FEATURE_FLAGS", json.dumps({"jira_onboarding_pipeline": {"default": False}}))
    get_settings.cache_clear()

    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})

    assert status == 202
    assert body["status"] == "PENDING"
    assert stack.list_executions() == []
    assert TeamStores(TEAM).projects.get("OPS").sync_status == "PENDING"
    run = TeamStores(TEAM).runs.get(body["run_id"])
    assert (run.status, run.execution_arn) == ("QUEUED", None)
    assert os.environ["FEATURE_FLAGS"]


def test_flag_rules_can_enable_the_pipeline_for_one_team_only(stack: LocalStack, connected_team, monkeypatch):
    flags = {
        "jira_onboarding_pipeline": {
            "default": False,
            "rules": {
                "pilot teams": {
                    "when_match": True,
                    "conditions": [{"action": "EQUALS", "key": "team_id", "value": TEAM}],
                }
            },
        }
    }
    monkeypatch.setenv("FEATURE_FLAGS", json.dumps(flags))

    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})

    assert status == 202
    assert body["status"] == "RUNNING"
    stack.wait_for_executions()


def test_a_run_of_many_projects_is_written_in_batches_of_25_across_tables(stack: LocalStack, monkeypatch):
    # Given DynamoDB that leaves part of the first batch unprocessed (throttled)
    from jira_onboarding.dal import tables

    tables.bind_tables()
    real_dispatch = Connection.dispatch
    calls: list[int] = []

    def dispatch(self, operation: str, kwargs: dict):
        if operation != "BatchWriteItem":
            return real_dispatch(self, operation, kwargs)
        request = kwargs["RequestItems"]
        calls.append(sum(len(puts) for puts in request.values()))
        if len(calls) == 1:  # the first call stores all but the last two of the projects
            table, puts = next((t, p) for t, p in request.items() if len(p) > 2)
            kept = {**request, table: puts[:-2]}
            real_dispatch(self, operation, {"RequestItems": kept})
            return {"UnprocessedItems": {table: puts[-2:]}}
        return real_dispatch(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    keys = [f"P{n:02d}" for n in range(40)]

    # When a run of 40 projects is recorded
    TeamStores(TEAM).runs.record("run-1", keys)

    # Then the run and its 40 projects went in 25s, the unprocessed two were sent again, and all are stored
    assert calls == [25, 2, 16]
    repo = TeamStores(TEAM)
    assert repo.runs.get("run-1").project_keys == keys
    assert sorted(p.project_key for p in repo.projects.list_tracked()) == keys


def test_idempotency_records_are_keyed_by_the_requesting_team(stack: LocalStack, connected_team, jira_url):
    import boto3
    from jira_onboarding.settings import get_settings as settings_now

    from tests.conftest import connect_team

    # Given two teams posting the same selection
    connect_team("team-other", jira_url)
    stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})
    stack.http("POST", "/jira/onboarding", team_id="team-other", body={"project_keys": ["OPS"]})
    stack.wait_for_executions()

    # Then each team's record sits under its own partition key, and only there
    table = settings_now().tables.idempotency
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    assert sorted(item["team_id"]["S"] for item in items) == sorted([TEAM, "team-other"])
    assert all(item["status"]["S"] == "COMPLETED" for item in items)
