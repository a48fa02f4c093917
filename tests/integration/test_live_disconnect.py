"""DELETE /jira/connection on the local stack: an OAuth team with a dynamic webhook registered in
the simulator disconnects. The webhook is deleted in Jira, the credentials and the nightly schedule
are gone, the synced data stays readable, and a signed delivery to the old connection id afterwards
gets the 401 of any unknown connection and queues nothing. A team with no connection gets a 404."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.nightly.schedules import schedule_name_for
from jira_onboarding.settings import get_settings

from jira_simulator.webhooks import Delivery
from tests.integration.live_support import (
    TRACKED,
    LiveWorld,
    connect_oauth_team,
    consumer_batches,
    live_world,
    stored_live,
)


def _disconnect(world: LiveWorld) -> str:
    """Given: the team disconnected; returns the site it was connected to."""
    code, _, answer = world.stack.http("DELETE", "/jira/connection", team_id=world.team_id)
    assert code == 200, answer
    return answer["site_url"]


@pytest.fixture
def world() -> Iterator[LiveWorld]:
    """A world of this test's own: each test disconnects (or not) from a connected team."""
    with live_world(kind="dynamic") as live:
        yield live


def _schedule_exists(team_id: str) -> bool:
    client = boto3.client("scheduler", region_name="us-east-1")
    try:
        client.get_schedule(Name=schedule_name_for(team_id), GroupName=get_settings().nightly_schedule_group)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def _connection_items(team_id: str) -> list[dict]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = get_settings().tables.jira_connections
    return client.query(
        TableName=table,
        KeyConditionExpression="team_id = :t",
        ExpressionAttributeValues={":t": {"S": team_id}},
    )["Items"]


def _deliver_to(world: LiveWorld, registration: object) -> tuple[int, object]:
    """A delivery to `registration`'s URL, signed as the simulator signs a dynamic webhook's."""
    (change,) = world.control.edit_issue("ALPHA-2", summary="edited after the disconnect")
    body = json.dumps(change.payload).encode()
    delivery = Delivery(registration, change, str(uuid.uuid4()), body)  # type: ignore[arg-type]
    headers = world.hooks.headers(delivery, 0)
    path = urlsplit(delivery.registration.url).path
    status, _, answer = world.stack.http("POST", path, team_id=None, raw_body=body.decode(), headers=headers)
    return status, answer


def test_disconnect_deletes_the_webhook_credentials_and_schedule_and_keeps_the_data(world: LiveWorld):
    # Given an OAuth team, onboarded, with its dynamic webhook registered and its nightly schedule
    (registration,) = world.hooks.dynamic()
    assert _schedule_exists(world.team_id)
    assert _connection_items(world.team_id)[0].get("credentials_envelope")
    stored_before = stored_live(world, TRACKED)
    assert stored_before
    code, _, metrics_before = world.stack.http("GET", "/jira/metrics", team_id=world.team_id)
    assert code == 200
    unknown_status, unknown_answer = world.stack.http(
        "POST", "/jira/webhooks/" + "A" * 32, team_id=None, raw_body="{}", headers={}
    )[::2]

    # When the team disconnects
    code, _, answer = world.stack.http("DELETE", "/jira/connection", team_id=world.team_id)

    # Then the answer says what happened and what is kept
    assert code == 200, answer
    assert answer["webhook_deleted"] is True and answer["nightly_schedule_deleted"] is True
    assert answer["data_kept"] is True
    assert "disconnected" in answer["message"] and "kept" in answer["message"]
    # the webhook is gone from Jira, deleted with the team's own credentials
    assert world.hooks.dynamic() == []
    assert world.simulator.calls("DELETE /rest/api/3/webhook", status=202)
    # no credentials are left to make another Jira call with, and no schedule to start one
    assert _connection_items(world.team_id) == []
    assert TeamStores(world.team_id).connection.get() is None
    assert not _schedule_exists(world.team_id)
    assert not LiveStore(world.team_id).status().enabled
    # the synced data stays readable
    assert stored_live(world, TRACKED) == stored_before
    code, _, metrics_after = world.stack.http("GET", "/jira/metrics", team_id=world.team_id)
    assert code == 200 and metrics_after == metrics_before
    assert {p.project_key for p in TeamStores(world.team_id).projects.list_tracked() if p.selected} == set(
        TRACKED
    )

    # And a signed delivery to the old connection id is refused like an unknown one, queueing nothing
    assert world.stack.drain(timeout_s=30)
    batches = consumer_batches(world.stack)
    status, refused = _deliver_to(world, registration)
    assert (status, refused) == (unknown_status, unknown_answer) == (401, unknown_answer)
    assert world.stack.drain(timeout_s=10)
    assert consumer_batches(world.stack) == batches, "nothing was queued"


def test_disconnect_answers_404_for_a_team_with_no_connection(world: LiveWorld):
    _disconnect(world)
    for team in (world.team_id, "team-never-connected"):
        code, _, answer = world.stack.http("DELETE", "/jira/connection", team_id=team)
        assert code == 404
        assert "no Jira connection" in answer["message"]


def test_reconnecting_resumes_live_updates_and_the_schedule_from_the_kept_data(world: LiveWorld):
    # Given the team disconnected, its data kept
    site_url = _disconnect(world)
    assert TeamStores(world.team_id).connection.get() is None
    stored_before = stored_live(world, TRACKED)

    # When it connects again (OAuth), its projects still selected
    connect_oauth_team(world.team_id, site_url, world.hooks.oauth_client_secret)
    assert world.stack.drain(timeout_s=30)

    # Then its schedule is back and the dynamic webhook is registered again for the same selection
    assert _schedule_exists(world.team_id)
    (registration,) = world.hooks.dynamic()
    assert registration.jql_filter == "project in (ALPHA, BETA)"
    assert LiveStore(world.team_id).status().webhook_ids == [registration.id]
    # and a change in Jira is applied on top of the kept data
    world.hooks.publish(world.control.edit_issue("BETA-2", summary="after reconnecting"))
    world.deliver()
    stored_after = stored_live(world, TRACKED)
    assert stored_after["BETA-2"][0] == "after reconnecting"
    assert set(stored_after) == set(stored_before)
