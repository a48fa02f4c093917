"""Unit-test fixtures: DynamoDB tables on moto, built from template.yaml's own definitions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REGION = "us-east-1"


def _table_environment(model: Any) -> dict[str, str]:
    """Each table's environment variable (the template's `Globals`, and a function's own, such as
    OAUTH_STATES_TABLE) -> a physical name."""
    variables = dict(
        model.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    for resource in model.of_type("AWS::Serverless::Function").values():
        variables.update(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {})
    tables = model.of_type("AWS::DynamoDB::Table")
    return {
        name: f"unit-{value['Ref']}"
        for name, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in tables
    }


@pytest.fixture(scope="package")
def dynamodb_tables() -> Iterator[None]:
    """Every table of the template on moto's in-memory DynamoDB, and the settings pointing at them.

    Created once for tests/unit (a second each time would add up): tests keep apart by team
    (`team_id`), as the product does. Package-scoped, not session-scoped: the mock ends with the
    unit tests, so a LocalStack started later in the same session is not nested inside it."""
    import boto3
    from jira_onboarding import aws
    from jira_onboarding.dal import tables
    from jira_onboarding.settings import get_settings
    from moto import mock_aws

    from local_harness.template import template_model

    model = template_model()
    environment = _table_environment(model)
    monkeypatch = pytest.MonkeyPatch()
    for name, value in {
        **environment,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for logical_id, resource in model.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            kwargs: dict[str, Any] = {
                "TableName": f"unit-{logical_id}",
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            client.create_table(**kwargs)
        # the credentials envelope's key (template: JiraCredentialsKey)
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        monkeypatch.setenv("CREDENTIALS_KEY_ID", key)
        get_settings.cache_clear()
        aws.clear_caches()
        tables.forget_table_bindings()
        yield
    monkeypatch.undo()
    get_settings.cache_clear()
    aws.clear_caches()
    tables.forget_table_bindings()


@pytest.fixture
def team_id(dynamodb_tables: None) -> str:
    """A team of this test's own on the shared tables."""
    return f"team-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def simulated_jira(monkeypatch: pytest.MonkeyPatch, simulator: Any) -> Any:
    """Every Jira client the logic opens talks to the in-process simulator (no network, no sleeps).

    The site budget's pacing runs on a clock of this test's own that its waits move on instead of
    sleeping: every pacer of the test sees the same time, and slots, pauses and holds keep their
    meaning (test_site_pacer.py proves the pacing itself)."""
    import httpx
    from jira_onboarding.budget import pacer
    from jira_onboarding.jira.client import JiraClient

    skipped = [0.0]  # seconds the pacers' waits have moved this test's clock on

    def skip(seconds: float) -> None:
        skipped[0] += max(0.0, seconds)

    class VirtualTimePacer(pacer.SitePacer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("clock", lambda: time.time() + skipped[0])
            kwargs.setdefault("sleep", skip)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pacer, "SitePacer", VirtualTimePacer)
    connect = JiraClient.connect.__func__  # type: ignore[attr-defined]

    def connect_to_simulator(cls: type[JiraClient], credentials: Any, **kwargs: Any) -> JiraClient:
        kwargs.setdefault("sleep", lambda _seconds: None)
        return connect(cls, credentials, transport=httpx.MockTransport(simulator.httpx_handler), **kwargs)

    monkeypatch.setattr(JiraClient, "connect", classmethod(connect_to_simulator))
    return simulator


def team_site(team_id: str) -> str:
    """A simulated site of the team's own: the site budget is per site, so a test on its own site
    finds no slot, pause or probe another test left (tests that share a site say so)."""
    return f"https://{team_id}.atlassian.net"


def forget_site_budget(site_url: str) -> None:
    """Remove the site's budget item, if the budget table is on (what a test leaves on its site)."""
    import boto3
    from jira_onboarding.budget import site_key
    from jira_onboarding.settings import get_settings

    table = get_settings().tables.jira_site_budgets
    if table:
        boto3.client("dynamodb", region_name=REGION).delete_item(
            TableName=table, Key={"site_key": {"S": site_key(site_url)}}
        )


@pytest.fixture
def connected_team(team_id: str, simulated_jira: Any, workspace: Any) -> Iterator[str]:
    """A team of this test's own, on a site of its own, with the simulator as its Jira and its
    members; the site's budget item goes at teardown."""
    from tests.conftest import connect_team

    connect_team(team_id, team_site(team_id), workspace)
    yield team_id
    forget_site_budget(team_site(team_id))


@pytest.fixture
def state_machine(monkeypatch: pytest.MonkeyPatch, dynamodb_tables: None) -> Iterator[str]:
    """A standard state machine on moto that records its executions (nothing runs)."""
    import json

    import boto3
    from jira_onboarding.settings import get_settings

    client = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = client.create_state_machine(
        name=f"unit-machine-{uuid.uuid4().hex[:8]}",  # its own per test: its executions are the test's
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/unit",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    get_settings.cache_clear()  # the clients stay: they do not depend on the machine
    yield arn
    get_settings.cache_clear()


# The live-update tests' world (a small simulated site, a team onboarded on it, the queue).
from tests.unit.live_support import live_queue, live_team, oauth_team  # noqa: E402, F401
