"""Disconnecting a team's Jira (logic/connection/disconnect.py) on moto's tables: what goes, what stays."""

from __future__ import annotations

import pytest
from jira_onboarding.dal.live import LiveStore, get_endpoint
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.errors import OnboardingRequestError
from jira_onboarding.logic.connection.disconnect import disconnect_jira
from jira_onboarding.logic.live.apply import apply_message, prepare
from jira_onboarding.logic.live.events import LiveMessage
from jira_onboarding.logic.nightly.schedules import delete_nightly_schedule

SITE = "https://acme.atlassian.net"


def _connected(team_id: str) -> TeamStores:
    repo = TeamStores(team_id)
    repo.connection.save(SITE, "api_token", credentials_envelope="sealed-credentials")
    repo.runs.record("run-1", ["ALPHA"])
    LiveStore(team_id).save_endpoint("conn-" + team_id, "api_token", "https://api.test/jira/webhooks/x")
    return repo


def test_disconnect_jira_answers_404_with_a_sentence_when_the_team_has_no_connection(team_id: str):
    with pytest.raises(OnboardingRequestError) as refused:
        disconnect_jira(team_id)
    assert refused.value.status == 404
    assert "no Jira connection" in refused.value.message


def test_disconnect_jira_deletes_the_connection_and_endpoint_and_keeps_the_selection(team_id: str):
    # Given a connected API-token team with live updates and a tracked project
    repo = _connected(team_id)

    # When it disconnects
    answer = disconnect_jira(team_id)

    # Then the credentials and the endpoint are gone, the selection and data stay
    assert repo.connection.get() is None
    assert get_endpoint("conn-" + team_id) is None
    assert not LiveStore(team_id).status().enabled
    assert [p.project_key for p in repo.projects.list_tracked() if p.selected] == ["ALPHA"]
    assert answer.data_kept is True and answer.webhook_deleted is None
    assert answer.nightly_schedule_deleted is False  # no schedule group configured here
    # and an admin webhook, which only a Jira admin can remove, is named for them
    assert "Ask your Jira admin to remove the webhook that sends to https://api.test/jira/webhooks/x" in (
        answer.message
    )
    assert "kept" in answer.message
    with pytest.raises(OnboardingRequestError):
        disconnect_jira(team_id)  # a second disconnect: nothing left


def test_apply_events_drops_queued_events_of_a_disconnected_team_without_calling_jira(team_id: str):
    # Given an event queued just before its team disconnected
    repo = _connected(team_id)
    repo.connection.delete()
    event = {"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "ALPHA-1"}}
    message = LiveMessage(team_id=team_id, delivery_id="d-1", event=event)

    # When the consumer prepares and applies it
    teams = prepare([message])

    # Then it is dropped (no Jira call, no failure to redeliver into the dead-letter queue)
    team = teams[team_id]
    assert team.failure is None and team.tracked == {}
    assert apply_message(message, team) == "dropped: project not tracked"
    assert team.jira_calls == 0


def test_delete_nightly_schedule_is_false_when_no_schedule_group_is_configured(team_id: str):
    assert delete_nightly_schedule(team_id) is False


def test_disconnect_jira_erases_the_jira_accounts_personal_data_when_asked(team_id: str):
    # Given a connected team holding Jira accounts, one of them named in a run's summary
    from jira_onboarding.jira.models import JiraUser

    repo = _connected(team_id)
    repo.people.save_jira_users(
        [JiraUser.model_validate({"accountId": "acc-1", "displayName": "Ada", "emailAddress": "ada@x.test"})]
    )
    repo.runs.record_users("run-1", {"unmatched_jira_user_names": ["Ada"], "matched": 0})

    # When it disconnects asking for its personal data to go
    answer = disconnect_jira(team_id, erase_personal_data=True)

    # Then the accounts and the names are gone, and the answer says how many
    assert answer.jira_accounts_deleted == 1
    assert repo.people.list_jira_users() == []
    assert repo.runs.get("run-1").users_summary == {"unmatched_jira_user_names": [], "matched": 0}  # type: ignore[union-attr]
