"""The start and status handlers, through API Gateway HTTP API v2 events."""

from __future__ import annotations

import json

import boto3
import pytest
from jira_onboarding.dal.issues import IssueStore
from jira_onboarding.dal.team import TeamStores, dump_team

from local_harness.stack import LocalStack
from tests.conftest import TEAM, load_event, select_and_wait, set_project_fields


def _stored_items(team_id: str) -> list[dict]:
    return [item for item in dump_team(team_id) if item["table"] not in {"connection", "team_member"}]


def test_start_answers_202_with_a_running_execution_named_after_the_run(stack: LocalStack, connected_team):
    # When the team posts its selection
    status, _, body = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "OPS"]}
    )

    # Then it gets 202, a run id and a status URL, and the execution already exists
    assert status == 202
    assert body["status_url"] == f"/jira/onboarding/{body['run_id']}"
    assert body["project_keys"] == ["ALPHA", "OPS"]
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    executions = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [body["run_id"]]
    execution_input = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert execution_input == {"team_id": TEAM, "run_id": body["run_id"], "project_keys": ["ALPHA", "OPS"]}
    # the run was written before the start with the ARN Step Functions then gave the execution
    assert TeamStores(TEAM).runs.get(body["run_id"]).execution_arn == executions[0]["executionArn"]
    # and the tracked projects were recorded PENDING for this run before the execution ran them
    projects = {p.project_key: p for p in TeamStores(TEAM).projects.list_tracked()}
    assert set(projects) == {"ALPHA", "OPS"}
    assert all(p.run_id == body["run_id"] for p in projects.values())
    stack.wait_for_executions()


def test_start_queues_the_run_without_an_execution_when_the_execution_cannot_start(
    stack: LocalStack, connected_team, settings_env
):
    # Given a state machine ARN that Step Functions does not know
    settings_env(STATE_MACHINE_ARN=f"{stack.state_machine_arn}-missing")

    # When the team posts its selection
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})

    # Then it still gets 202, and the run waits for the nightly batch with no execution ARN
    assert status == 202
    assert body["status"] == "PENDING"
    run = TeamStores(TEAM).runs.get(body["run_id"])
    assert run.status == "QUEUED"
    assert run.execution_arn is None
    assert "nightly" in run.reason
    assert TeamStores(TEAM).projects.get("OPS").sync_status == "PENDING"
    assert stack.list_executions() == []


def test_start_normalises_case_and_duplicates(stack: LocalStack, connected_team):
    status, _, body = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ops", " OPS "]}
    )
    assert status == 202
    assert body["project_keys"] == ["OPS"]
    stack.wait_for_executions()


@pytest.mark.parametrize(
    ("raw_body", "expected_words"),
    [
        ("{not json", ["not valid", "json"]),
        (json.dumps({}), ["project_keys", "required"]),
        (json.dumps({"project_keys": []}), ["project_keys", "at least 1"]),
        (json.dumps({"project_keys": "ALPHA"}), ["project_keys", "list"]),
        (
            json.dumps({"project_keys": ["ALPHA", "no spaces allowed"]}),
            ["'no spaces allowed'", "not a jira project key"],
        ),
        (json.dumps({"project_keys": ["A" * 11]}), ["not a jira project key"]),
        (json.dumps({"project_keys": [f"P{i}" for i in range(51)]}), ["project_keys", "at most 50"]),
        (json.dumps({"project_keys": ["ALPHA"], "team_id": "someone-else"}), ["team_id", "extra"]),
    ],
)
def test_start_rejects_a_malformed_body_with_400_naming_the_problem_and_writes_nothing(
    stack: LocalStack, connected_team, raw_body, expected_words
):
    status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, raw_body=raw_body)

    assert status == 400
    message = body["message"].lower()
    for word in expected_words:
        assert word.lower() in message, message
    assert _stored_items(TEAM) == []
    assert stack.list_executions() == []


def test_start_without_a_jira_connection_is_409_and_writes_nothing(stack: LocalStack):
    status, _, body = stack.http(
        "POST", "/jira/onboarding", team_id="team-new", body={"project_keys": ["ALPHA"]}
    )
    assert status == 409
    assert "connection" in body["message"]
    assert _stored_items("team-new") == []


def test_start_without_a_team_claim_is_403(stack: LocalStack, connected_team):
    status, _, _ = stack.http("POST", "/jira/onboarding", team_id=None, body={"project_keys": ["ALPHA"]})
    assert status == 403
    assert stack.list_executions() == []


def test_status_of_another_teams_run_is_404(stack: LocalStack, connected_team):
    _, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["OPS"]})
    stack.wait_for_executions()

    own, _, _ = stack.http("GET", body["status_url"], team_id=TEAM)
    other, _, other_body = stack.http("GET", body["status_url"], team_id="team-other")

    assert own == 200
    assert other == 404
    assert "OPS" not in json.dumps(other_body)


def test_sample_events_drive_the_real_handlers(stack: LocalStack, connected_team):
    # The events/ samples are API Gateway's own shapes; the handler answers them as the API would.
    event = load_event("start_onboarding")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["team_id"] = TEAM
    result, error = stack.invoke(stack.resolver.physical["StartOnboardingFunction"], event)
    assert error is None
    assert result["statusCode"] == 202
    run_id = json.loads(result["body"])["run_id"]
    stack.wait_for_executions()

    status_event = load_event("get_sync_status")
    status_event["requestContext"]["authorizer"]["jwt"]["claims"]["team_id"] = TEAM
    status_event["pathParameters"]["run_id"] = run_id
    status_event["rawPath"] = status_event["requestContext"]["http"]["path"] = f"/jira/onboarding/{run_id}"
    result, error = stack.invoke(stack.resolver.physical["GetSyncStatusFunction"], status_event)
    assert error is None
    body = json.loads(result["body"])
    assert body["status"] == "COMPLETE"
    assert {p["project_key"] for p in body["projects"]} == {"ALPHA", "BETA"}


def test_step_sample_events_are_accepted_by_their_handlers(stack: LocalStack, connected_team):
    # Given a run that the start handler recorded
    _, _, body = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA", "BETA"]}
    )
    stack.wait_for_executions()
    for name in (
        "sync_users",
        "sync_segment",
        "mark_project_failed",
        "finish_run",
    ):
        event = {**load_event(name), "team_id": TEAM, "run_id": body["run_id"]}
        function = {
            "sync_users": "SyncUsersFunction",
            "sync_segment": "SyncSegmentFunction",
            "mark_project_failed": "MarkProjectFailedFunction",
            "finish_run": "FinishRunFunction",
        }[name]
        result, error = stack.invoke(stack.resolver.physical[function], event)
        assert error is None, (name, result)
    assert TeamStores(TEAM).projects.get("BETA").sync_status == "FAILED"


def test_the_status_reads_every_attribute_its_progress_shows(stack: LocalStack):
    # Given a run with a project syncing its backfill and one failed, retried tomorrow
    from datetime import UTC, datetime, timedelta

    from jira_onboarding.logic.run.status import _progress, get_run_status

    repo = TeamStores("team-s")
    repo.runs.record("run-1", ["ALPHA", "BETA"])
    set_project_fields(
        "team-s",
        "ALPHA",
        sync_status="SYNCING",
        phase="backfill",
        sync_mode="full",
        issues_fetched=40,
        issues_total_estimate=120,
    )
    retry = datetime.now(UTC) + timedelta(days=1)
    set_project_fields("team-s", "BETA", sync_status="FAILED", reason="Jira said no", next_retry_at=retry)

    # When the page polls, reading only the progress attributes
    status = get_run_status("team-s", "run-1")

    # Then it shows what the whole items say
    full = [_progress(p) for p in repo.projects.among(["ALPHA", "BETA"])]
    assert status.projects == full
    assert (status.projects[0].phase, status.projects[0].percent) == ("backfill", 33)
    assert status.projects[1].reason == "Jira said no" and status.projects[1].next_retry_at


def test_status_counts_a_first_sync_s_first_page_as_soon_as_it_is_stored(
    stack: LocalStack, connected_team, workspace, monkeypatch: pytest.MonkeyPatch
):
    # Given a first sync of ALPHA (120 issues: two pages of 100, one batch). Its first page is stored
    # at once, before the batch's changelog call; record what the status says just before the
    # batch itself is written.
    seen: list[tuple[dict, int]] = []
    alpha_writes: list[int] = []
    original = IssueStore.save

    def save_issues(self: IssueStore, issues, **kwargs):
        issues = list(issues)
        if issues and issues[0].key.startswith("ALPHA-"):
            alpha_writes.append(len(issues))
            if len(alpha_writes) == 2:  # the batch, after the first page's preview write
                code, _, status = stack.http("GET", f"/jira/onboarding/{kwargs['run_id']}", team_id=TEAM)
                assert code == 200
                seen.append((status, self.count("ALPHA")))
        return original(self, issues, **kwargs)

    monkeypatch.setattr(IssueStore, "save", save_issues)

    # When the team selects it
    run = select_and_wait(stack, ["ALPHA"])

    # Then between the first page and the batch, the status shows the 100 issues the store holds
    assert alpha_writes == [100, 120]
    ((during, in_store),) = seen
    (alpha,) = during["projects"]
    assert in_store == 100
    assert alpha["status"] == "SYNCING" and alpha["issues_stored"] == 100 and alpha["percent"] == 83
    # and once the batch lands they are counted once: 120 stored, not 220
    (alpha,) = run["projects"]
    assert alpha["status"] == "COMPLETE"
    assert alpha["issues_stored"] == len(workspace.issues_by_project["ALPHA"]) == 120


def test_a_selection_with_a_key_the_site_lacks_is_a_400_naming_it_and_the_earlier_one_stays(
    stack: LocalStack, connected_team
):
    status, _, listed = stack.http("GET", "/jira/projects", team_id=TEAM, query={"max_results": "50"})
    assert status == 200 and listed["next_start_at"] is None, listed  # the page loaded the whole list
    status, _, first = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["ALPHA"]})
    assert status == 202, first

    status, _, refused = stack.http(
        "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": ["BETA", "NOPE"]}
    )

    assert status == 400 and "NOPE" in refused["message"] and "nothing was changed" in refused["message"]
    tracked = [p.project_key for p in TeamStores(TEAM).projects.list_tracked() if p.selected]
    assert tracked == ["ALPHA"]
