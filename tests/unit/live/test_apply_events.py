"""The live-updates consumer on batches of queued Jira events: what it refetches, what it stores,
which deliveries it skips and which writes lose to newer data (tests/unit/live_support.py's world:
ALPHA and BETA tracked, OPS on the site but not tracked)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from jira_onboarding.dal.issues import issue_content_hash
from jira_onboarding.dal.live import LiveStore
from jira_onboarding.dal.tables import JiraConnectionItem
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.live import apply as apply_events
from jira_onboarding.logic.live.apply import apply_jira_events, apply_message, prepare
from jira_onboarding.logic.live.events import LiveMessage, parse_message, queue_body

from jira_simulator.webhooks import DeliveryFaults
from tests.unit.live_support import LiveTeam, Queue, sqs_event, sqs_record

SEARCH = "POST /rest/api/3/search/jql"
BUDGETS_TABLE = "unit-JiraSiteBudgetsTable"  # tests/unit/conftest.py: the template's tables, "unit-" first


def _failures(answer: dict) -> list[str]:
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


def test_apply_jira_events_stores_the_issue_as_jira_has_it_now(live_team: LiveTeam, live_queue: Queue):
    live_team.store_as_synced("ALPHA-3")
    records = live_team.record(live_team.control.edit_issue("ALPHA-3", summary="Edited live"))

    answer = apply_jira_events({"Records": records})

    assert _failures(answer) == []
    stored = live_team.item("ALPHA-3")
    assert (stored["summary"], stored["run_id"], stored["deleted"]) == ("Edited live", "live", False)
    assert live_team.jira_calls(SEARCH) == 1
    status = live_team.status()
    assert (status.events_applied, status.events_dropped) == (0, 0), "no endpoint: nothing counted"
    refresh = [b for b in live_queue.bodies() if b["kind"] == "refresh_metrics"]
    assert [b["team_id"] for b in refresh] == [live_team.team_id], "the metrics recompute is asked for"


def test_apply_jira_events_trusts_jira_not_the_payload_when_events_come_late(live_team: LiveTeam):
    first = live_team.control.edit_issue("ALPHA-4", summary="first edit")
    live_team.control.edit_issue("ALPHA-4", summary="second edit")  # its delivery comes later

    apply_jira_events({"Records": live_team.record(first)})

    assert live_team.item("ALPHA-4")["summary"] == "second edit"


def test_apply_jira_events_refetches_a_batch_of_issues_in_one_search_and_one_changelog_call(
    live_team: LiveTeam,
):
    changes = []
    for n in range(1, 6):
        changes += live_team.control.edit_issue(f"ALPHA-{n}", summary=f"batch {n}")
    changes += live_team.control.edit_issue("BETA-2", status="Done")
    changes += live_team.control.edit_issue("ALPHA-1", summary="batch 1 again")  # same issue twice

    answer = apply_jira_events({"Records": live_team.record(changes)})

    assert _failures(answer) == []
    stored = live_team.stored()
    assert {k: stored[k]["summary"] for k in ("ALPHA-1", "ALPHA-5")} == {
        "ALPHA-1": "batch 1 again",
        "ALPHA-5": "batch 5",
    }
    assert stored["BETA-2"]["status_name"] == "Done"
    assert live_team.jira_calls(SEARCH) == 1
    assert live_team.jira_calls("changelog/bulkfetch") == 1


def test_apply_jira_events_pages_the_refetch_when_the_batch_names_more_issues_than_a_page(
    live_team: LiveTeam, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(apply_events, "REFETCH_PAGE_SIZE", 2)
    changes = [c for n in range(1, 6) for c in live_team.control.edit_issue(f"ALPHA-{n}", summary="paged")]

    apply_jira_events({"Records": live_team.record(changes)})

    assert live_team.jira_calls(SEARCH) == 3
    assert sum(1 for i in live_team.stored().values() if i["summary"] == "paged") == 5


def test_apply_message_writes_nothing_when_the_store_is_as_new_as_jira(live_team: LiveTeam):
    change = live_team.control.edit_issue("ALPHA-2", summary="once")
    apply_jira_events({"Records": live_team.record(change)})
    synced_at = live_team.item("ALPHA-2")["synced_at"]

    # the same event delivered again under another identifier (a second webhook, a replay)
    team = prepare([parse_message(r["body"]) for r in live_team.record(change)])[live_team.team_id]
    outcome = apply_message(parse_message(live_team.record(change)[0]["body"]), team)

    assert outcome == "stale or unchanged"
    assert live_team.item("ALPHA-2")["synced_at"] == synced_at


def test_apply_message_loses_to_a_newer_stored_issue(live_team: LiveTeam):
    newer = live_team.jira_issue("ALPHA-6").model_copy(
        update={"summary": "written by a later event", "updated": datetime.now(UTC) + timedelta(days=1)}
    )
    assert LiveStore(live_team.team_id).save_issue_if_newer(newer, content_hash=issue_content_hash(newer))
    messages = [
        parse_message(r["body"])
        for r in live_team.record(live_team.control.edit_issue("ALPHA-6", summary="older"))
    ]

    team = prepare(messages)[live_team.team_id]

    assert apply_message(messages[0], team) == "stale or unchanged"
    assert live_team.item("ALPHA-6")["summary"] == "written by a later event"


def test_apply_jira_events_tombstones_a_deleted_issue_and_a_late_update_never_revives_it(
    live_team: LiveTeam,
):
    live_team.store_as_synced("ALPHA-7")
    edit = live_team.control.edit_issue("ALPHA-7", summary="edited before the delete")
    issue_now = live_team.jira_issue("ALPHA-7")
    delete = live_team.control.delete_issue("ALPHA-7")

    answer = apply_jira_events({"Records": live_team.record(delete)})
    again = apply_jira_events({"Records": live_team.record(delete)})  # another identifier, same delete
    late = apply_jira_events({"Records": live_team.record(edit)})

    assert _failures(answer) == _failures(again) == _failures(late) == []
    stored = live_team.item("ALPHA-7")
    assert stored["deleted"] is True
    assert stored["summary"] != "edited before the delete"
    revived = issue_now.model_copy(update={"updated": datetime.now(UTC) + timedelta(days=1)})
    assert not LiveStore(live_team.team_id).save_issue_if_newer(revived, content_hash="x")


def test_apply_message_tombstones_an_issue_never_stored(live_team: LiveTeam):
    messages = [parse_message(r["body"]) for r in live_team.record(live_team.control.delete_issue("BETA-4"))]
    team = prepare(messages)[live_team.team_id]

    assert apply_message(messages[0], team) == "tombstoned"
    assert apply_message(messages[0], team) == "already deleted"
    stored = live_team.item("BETA-4")
    assert (stored["deleted"], stored["project_key"]) == (True, "BETA")
    assert live_team.jira_calls(SEARCH) == 0, "a delete needs no refetch"


def test_apply_jira_events_splits_the_refetch_around_an_issue_deleted_meanwhile(live_team: LiveTeam):
    changes = live_team.control.edit_issue("ALPHA-8", summary="edited, then deleted")
    changes += live_team.control.edit_issue("ALPHA-9", summary="edited and kept")
    changes += live_team.control.edit_issue("ALPHA-10", summary="edited and kept too")
    changes += live_team.control.delete_issue("ALPHA-8")  # Jira now refuses `id in (...)` naming it

    answer = apply_jira_events({"Records": live_team.record(changes)})

    assert _failures(answer) == []
    stored = live_team.stored()
    assert stored["ALPHA-8"]["deleted"] is True
    assert stored["ALPHA-9"]["summary"] == "edited and kept"
    assert stored["ALPHA-10"]["summary"] == "edited and kept too"
    assert live_team.simulator.calls(SEARCH, status=400), "the refused query was split"


def test_apply_message_says_not_in_jira_for_an_issue_gone_before_the_refetch(live_team: LiveTeam):
    edit = live_team.control.edit_issue("ALPHA-11", summary="gone")
    live_team.control.delete_issue("ALPHA-11")
    messages = [parse_message(r["body"]) for r in live_team.record(edit)]

    team = prepare(messages)[live_team.team_id]

    assert apply_message(messages[0], team) == "not in Jira now"
    assert live_team.item("ALPHA-11") is None


def test_apply_jira_events_drops_events_of_projects_not_tracked_without_asking_jira(
    live_team: LiveTeam, live_queue: Queue
):
    live_team.enable_admin_webhook()
    changes = live_team.control.edit_issue("OPS-1", summary="not ours")
    changes += live_team.control.delete_issue("OPS-2")

    answer = apply_jira_events({"Records": live_team.record(changes)})

    assert _failures(answer) == []
    assert not any(k.startswith("OPS-") for k in live_team.stored())
    assert live_team.jira_calls(SEARCH) == 0
    status = live_team.status()
    assert (status.events_applied, status.events_dropped) == (0, 2)
    assert not [b for b in live_queue.bodies() if b["kind"] == "refresh_metrics"], "nothing changed"


def test_apply_jira_events_refetches_for_comment_events_and_drops_events_it_does_not_use(
    live_team: LiveTeam,
):
    live_team.enable_admin_webhook()
    edit = live_team.control.edit_issue("BETA-1", summary="commented")
    comment = {**edit[0].payload, "webhookEvent": "comment_created"}
    bodies = [
        queue_body(LiveMessage(team_id=live_team.team_id, delivery_id="c-1", event=comment)),
        queue_body(
            LiveMessage(
                team_id=live_team.team_id, delivery_id="w-1", event={"webhookEvent": "worklog_created"}
            )
        ),
    ]

    apply_jira_events(sqs_event(bodies))

    assert live_team.item("BETA-1")["summary"] == "commented"
    status = live_team.status()
    assert (status.events_applied, status.events_dropped) == (1, 1)
    assert status.last_event_at is not None


def test_apply_jira_events_applies_a_delivery_once_however_often_it_is_redelivered(live_team: LiveTeam):
    live_team.enable_admin_webhook()
    first = live_team.control.edit_issue("ALPHA-12", summary="first delivery")
    apply_jira_events({"Records": live_team.record(first, delivery="d-1")})
    live_team.control.edit_issue("ALPHA-12", summary="changed in Jira since")

    again = apply_jira_events({"Records": live_team.record(first, delivery="d-1")})

    assert _failures(again) == []
    assert live_team.item("ALPHA-12")["summary"] == "first delivery", "the repeat was not applied"
    assert live_team.status().events_applied == 1


def test_apply_jira_events_fails_only_the_poison_record(live_team: LiveTeam):
    good = live_team.record(live_team.control.edit_issue("ALPHA-5", summary="good"))
    poison = [
        sqs_record("{not a live-update message", "poison-1"),
        sqs_record(json.dumps({"kind": "jira_event"}), "poison-2"),
    ]

    answer = apply_jira_events({"Records": poison + good})

    assert sorted(_failures(answer)) == ["poison-1", "poison-2"]
    assert live_team.item("ALPHA-5")["summary"] == "good"


def test_apply_jira_events_fails_the_records_of_a_team_whose_refetch_failed_and_not_the_others(
    live_team: LiveTeam,
):
    event = live_team.control.edit_issue("ALPHA-1", summary="applied")[0].payload
    ours = queue_body(LiveMessage(team_id=live_team.team_id, delivery_id="ok", event=event))
    orphan = queue_body(LiveMessage(team_id=f"{live_team.team_id}-gone", delivery_id="ko", event=event))
    records = [sqs_record(ours, "ours"), sqs_record(orphan, "orphan")]
    # The other team tracks ALPHA and is connected, but its credentials cannot be opened: they are
    # a copy of ours, and an envelope is bound to the team it was sealed for
    other = f"{live_team.team_id}-gone"
    TeamStores(other).runs.record("run-1", ["ALPHA"])
    ours_item = JiraConnectionItem.get(live_team.team_id)
    JiraConnectionItem(
        other, **{k: v for k, v in ours_item.attribute_values.items() if k != "team_id"}
    ).save()

    answer = apply_jira_events({"Records": records})

    assert _failures(answer) == ["orphan"], "redelivered by SQS, the other team's record is done"
    assert live_team.item("ALPHA-1")["summary"] == "applied"
    assert LiveStore(other).status().events_applied == 0


def test_apply_message_drops_an_issue_event_that_names_no_issue(live_team: LiveTeam):
    body = queue_body(LiveMessage(team_id=live_team.team_id, event={"webhookEvent": "jira:issue_updated"}))
    team = prepare([parse_message(body)])[live_team.team_id]

    assert apply_message(parse_message(body), team) == "dropped: project not tracked"
    assert live_team.jira_calls() == 0


def test_apply_jira_events_applies_each_of_jiras_deliveries_once_when_jira_sends_them_again(
    live_team: LiveTeam, live_queue: Queue
):
    live_team.enable_admin_webhook()
    live_team.hooks.faults = DeliveryFaults(reorder=True)
    changes = live_team.control.edit_issue("ALPHA-1", summary="received")
    changes += live_team.control.edit_issue("BETA-2", summary="received too")
    changes += live_team.control.delete_issue("BETA-3")
    live_team.hooks.publish(changes)
    live_team.hooks.pending += list(live_team.hooks.pending)  # each sent twice, as a retry is

    answer = live_team.deliver(live_queue)  # through the receiver, then the consumer

    assert _failures(answer) == []
    assert len(live_team.hooks.sent) == 6
    assert {s for _, s in live_team.hooks.sent} == {202}
    assert live_team.status().events_applied == 3
    assert live_team.item("ALPHA-1")["summary"] == "received"
    assert live_team.item("BETA-2")["summary"] == "received too"
    assert live_team.item("BETA-3")["deleted"] is True


def test_apply_jira_events_lets_onboarding_go_first_on_a_busy_site(live_team: LiveTeam):
    # Given the site's budget on, and onboarding on the same site keeping it booked 5 s ahead: every
    # second a waiting call waits, onboarding books another second of slots
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
    from jira_onboarding.budget import pacer, site_key
    from jira_onboarding.dal.site_budget import SiteBudgetStore
    from jira_onboarding.settings import get_settings

    from tests.unit.conftest import team_site

    store, site = SiteBudgetStore(BUDGETS_TABLE), site_key(team_site(live_team.team_id))
    clock = [time.time()]
    onboarding = [True]

    def wait(seconds: float) -> None:
        clock[0] += seconds
        if onboarding[0]:
            store.reserve(site, 10, 0.1, clock[0])

    class VirtualTimePacer(pacer.SitePacer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "clock": lambda: clock[0], "sleep": wait})

    # Undone at the end of the test, before live_queue's fixture puts its own setting back: the
    # budget table stays off for the live tests after this one, and the site's budget item goes
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIRA_SITE_BUDGETS_TABLE", BUDGETS_TABLE)
        patch.setattr(pacer, "SitePacer", VirtualTimePacer)
        get_settings.cache_clear()
        try:
            store.reserve(site, 50, 0.1, clock[0])
            records = live_team.record(live_team.control.edit_issue("ALPHA-3", summary="Edited live"))

            # When an edit's event arrives, Then its refetch waits for onboarding instead of booking
            # behind it (an onboarding call books at once), and the batch goes back to the queue
            # without a call
            with pytest.raises(BatchProcessingError):  # every record failed: SQS redelivers the batch
                apply_jira_events({"Records": records})
            assert live_team.jira_calls(SEARCH) == 0

            # and once onboarding is done, its redelivery applies it
            onboarding[0] = False
            assert _failures(apply_jira_events({"Records": records})) == []
            assert live_team.item("ALPHA-3")["summary"] == "Edited live"
        finally:
            boto3.client("dynamodb", region_name="us-east-1").delete_item(
                TableName=BUDGETS_TABLE, Key={"site_key": {"S": site}}
            )
    get_settings.cache_clear()
