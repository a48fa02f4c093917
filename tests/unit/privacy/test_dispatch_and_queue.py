"""The daily dispatch (due OAuth teams queued, others counted, a continuation when time runs
short) and the consumer (a team requeued after Retry-After or when unfinished; partial failures)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.dal.privacy import PrivacyStore
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.privacy.consume import handle_message, report_personal_data
from jira_onboarding.logic.privacy.dispatch import dispatch_reports
from jira_onboarding.logic.privacy.queue import PrivacyMessage, parse_message

from tests.unit.conftest import team_site
from tests.unit.privacy.conftest import delayed, queued, store_users


def test_dispatch_queues_the_due_oauth_teams_only(oauth_team: str, team_id: str, privacy_queue: str):
    summary = dispatch_reports(time_left_s=lambda: 1000.0)

    teams = [m["team_id"] for m in queued(privacy_queue) if m["kind"] == "team"]
    assert oauth_team in teams
    assert summary.queued >= 1 and not summary.continued


def test_dispatch_leaves_out_a_team_reported_this_week(oauth_team: str, privacy_queue: str):
    PrivacyStore(oauth_team).finish_cycle(datetime.now(UTC) - timedelta(days=1))

    dispatch_reports(time_left_s=lambda: 1000.0)

    assert oauth_team not in [m.get("team_id") for m in queued(privacy_queue)]


def test_dispatch_continues_through_the_queue_when_time_runs_short(
    oauth_team: str, privacy_queue: str, monkeypatch: pytest.MonkeyPatch
):
    from jira_onboarding.logic.privacy import dispatch

    # Given at least two connections, scanned one a page
    second = f"{oauth_team}-second"
    register_connection(second, team_site(second), "api_token", {"email": "a@x.test", "api_token": "t"})
    monkeypatch.setattr(dispatch, "SCAN_PAGE", 1)

    summary = dispatch_reports(time_left_s=lambda: 0.0)

    messages = queued(privacy_queue)
    assert summary.continued
    assert [m["kind"] for m in messages].count("dispatch") == 1
    cursor = next(m["cursor"] for m in messages if m["kind"] == "dispatch")
    assert cursor and "team_id" in cursor


def test_a_throttled_team_is_requeued_after_its_retry_after(
    oauth_team: str, simulated_jira, privacy_queue: str
):
    store_users(oauth_team, 3)
    simulated_jira.privacy.throttle_next(300)

    outcome = handle_message(PrivacyMessage(kind="team", team_id=oauth_team), lambda: 1000.0)

    assert outcome == "throttled"
    assert delayed(privacy_queue) == 1


def test_an_unfinished_team_is_requeued_at_once(oauth_team: str, simulated_jira, privacy_queue: str):
    store_users(oauth_team, 3)

    outcome = handle_message(PrivacyMessage(kind="team", team_id=oauth_team), lambda: 1.0)

    assert outcome == "continued"
    assert queued(privacy_queue) == [{"kind": "team", "team_id": oauth_team}]


def test_the_consumer_reports_a_bad_message_as_a_failed_record(
    oauth_team: str, simulated_jira, privacy_queue: str
):
    event = {
        "Records": [
            {
                "messageId": "good",
                "body": json.dumps({"kind": "team", "team_id": oauth_team}),
                "attributes": {},
                "eventSource": "aws:sqs",
                "receiptHandle": "r1",
                "md5OfBody": "",
                "messageAttributes": {},
            },
            {
                "messageId": "bad",
                "body": '{"kind": "team"}',
                "attributes": {},
                "eventSource": "aws:sqs",
                "receiptHandle": "r2",
                "md5OfBody": "",
                "messageAttributes": {},
            },
        ]
    }

    answer = report_personal_data(event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert simulated_jira.privacy.reports == []  # no accounts stored: nothing to report


@pytest.mark.parametrize("body", ['{"kind": "team"}', '{"kind": "other", "team_id": "t"}', "not json"])
def test_parse_message_refuses_what_is_not_a_privacy_message(body: str):
    with pytest.raises(ValueError):
        parse_message(body)
