"""A team of the test's own, connected as an OAuth app to a simulated site of its own, holding
Jira accounts; and a personal data queue of its own on moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.connection.register import register_connection

from tests.unit.conftest import forget_site_budget, team_site

TOKENS = {
    "client_id": "app-client",
    "client_secret": "app-secret",
    "access_token": "demo-oauth-token",  # the simulator's default bearer token
    "refresh_token": "rt-1",
    "expires_at": 4_102_444_800.0,
}


def store_users(team_id: str, count: int, *, prefix: str = "acc") -> list[JiraUser]:
    users = [
        JiraUser.model_validate(
            {"accountId": f"{prefix}-{i:04d}", "displayName": f"Person {i}", "emailAddress": f"p{i}@x.test"}
        )
        for i in range(count)
    ]
    TeamStores(team_id).people.save_jira_users(users)
    return users


@pytest.fixture
def oauth_team(team_id: str, simulated_jira: Any) -> Iterator[str]:
    register_connection(team_id, team_site(team_id), "oauth", dict(TOKENS))
    yield team_id
    forget_site_budget(team_site(team_id))


@pytest.fixture
def privacy_queue(dynamodb_tables: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import boto3
    from jira_onboarding import aws
    from jira_onboarding.settings import get_settings

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"unit-privacy-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    monkeypatch.setenv("PRIVACY_REPORTS_QUEUE_URL", url)
    get_settings.cache_clear()
    aws.clear_caches()
    yield url
    sqs.delete_queue(QueueUrl=url)
    get_settings.cache_clear()


def queued(url: str) -> list[dict]:
    """Every visible message on the queue (delayed ones: their count in `delayed`)."""
    import json

    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies: list[dict] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.extend(json.loads(m["Body"]) for m in messages)  # received: invisible from now on
    return bodies


def delayed(url: str) -> int:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"])
