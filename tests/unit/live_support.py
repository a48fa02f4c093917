"""A small live world for the unit tests of live updates: a team onboarded as a sync would leave it
(connection, field map, tracked projects, boards and sprints) on the unit tables, the in-process Jira
simulator as its Jira, and an SQS queue on moto as the live-updates queue. No stack, no threads.

Its fixtures (`live_queue`, `live_team`, `oauth_team`) are registered by tests/unit/conftest.py; the
tables are that conftest's, each test on a team of its own. The site pacer is off here (see
`live_queue`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from jira_onboarding.contracts import LiveUpdatesSetup
from jira_onboarding.dal.items import as_dict
from jira_onboarding.dal.live import LiveStatus, LiveStore
from jira_onboarding.dal.tables import JiraIssueItem, TrackedProjectItem, bind_tables, utcnow
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.client import JiraClient
from jira_onboarding.jira.models import FieldMap, JiraBoard, JiraField, JiraIssue, JiraSprint, parse_issue
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.logic.live.events import LiveMessage, queue_body
from jira_onboarding.logic.live.registration import enable_live_updates
from jira_onboarding.records import SyncStatus
from pynamodb.exceptions import DoesNotExist

from jira_simulator import JiraSimulator, ProjectSpec, Workspace, WorkspaceSize, build_workspace
from jira_simulator.control import Change, Control
from jira_simulator.live import live_parts
from jira_simulator.webhooks import WebhookDispatcher
from tests.conftest import SIM_EMAIL, SIM_TOKEN
from tests.unit.conftest import team_site

WEBHOOK_BASE = "https://hooks.example.test"
OAUTH_TOKEN = "demo-oauth-token"  # the simulator's accepted OAuth access token
SMALL = WorkspaceSize(
    projects=(
        ProjectSpec("ALPHA", "Alpha Platform", "classic", "scrum", 12),
        ProjectSpec("BETA", "Beta Mobile", "next-gen", "scrum", 6),
        ProjectSpec("OPS", "Operations", "classic", "kanban", 4),
    ),
    users=25,
)
TRACKED = ("ALPHA", "BETA")  # OPS is on the site, not tracked
_CONNECT = JiraClient.connect.__func__  # type: ignore[attr-defined]  # before any test patches it


@dataclass
class LiveTeam:
    """One team with the simulator as its Jira."""

    team_id: str
    simulator: JiraSimulator
    hooks: WebhookDispatcher
    control: Control
    field_map: FieldMap

    @property
    def ws(self) -> Workspace:
        return self.simulator.ws

    @property
    def repo(self) -> TeamStores:
        return TeamStores(self.team_id)

    def stored(self) -> dict[str, dict[str, Any]]:
        return {i["issue_key"]: i for i in self.repo.issues.iter_items()}

    def item(self, key: str) -> dict[str, Any] | None:
        """One stored issue item as it is (one key read), or None."""
        try:
            return as_dict(JiraIssueItem.get(self.team_id, key))
        except DoesNotExist:
            return None

    def jira_issue(self, key: str) -> JiraIssue:
        """The issue as Jira has it now, parsed as the sync parses it."""
        project = self.ws.project(key.rsplit("-", 1)[0])
        assert project is not None
        raw = self.ws.get_issue(key)
        return parse_issue(raw, self.field_map, project.story_point_field_id)

    def store_as_synced(self, *keys: str) -> None:
        """Given: these issues stored as an onboarding run left them (Jira's state now)."""
        self.repo.issues.save([self.jira_issue(key) for key in keys], run_id="run-1", fresh=True)

    def jira_calls(self, endpoint: str = "") -> int:
        return len(self.simulator.calls(endpoint))

    def status(self) -> LiveStatus:
        return LiveStore(self.team_id).status()

    def enable_admin_webhook(self) -> LiveUpdatesSetup:
        """Live updates on, and the admin webhook registered in Jira as the answer says."""
        setup = enable_live_updates(self.team_id, base_url=WEBHOOK_BASE)
        self.hooks.register(setup.webhook_url, setup.events, setup.jql, kind="admin", secret=setup.secret)
        return setup

    def deliver(self, queue: Queue) -> dict[str, Any]:
        """Send Jira's pending deliveries through the receiver, then the queued ones to the consumer."""
        from jira_onboarding.logic.live.apply import apply_jira_events

        self.hooks.sender = receiver_sender()
        start = len(queue.sent)
        self.hooks.flush()
        return apply_jira_events(sqs_event([m["MessageBody"] for m in queue.sent[start:]]))

    def record(self, changes: list[Change], *, delivery: str | None = None) -> list[dict[str, Any]]:
        """SQS records of the webhook events of `changes`, as the receiver queues them; without a
        `delivery` id (the idempotency layer is then left out: test_live_idempotency.py and the
        tests that pass one cover it)."""
        records = []
        for change in changes:
            message = LiveMessage(
                team_id=self.team_id,
                delivery_id=delivery,
                received_at=1.0,
                event=change.payload,
            )
            records.append(sqs_record(queue_body(message)))
        return records


def sqs_record(body: str, message_id: str | None = None) -> dict[str, Any]:
    """One record of an SQS event source mapping's batch."""
    return {
        "messageId": message_id or uuid.uuid4().hex,
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:unit-live-updates",
        "awsRegion": "us-east-1",
    }


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """The consumer's batch of queued message bodies."""
    return {"Records": [sqs_record(body) for body in bodies]}


def api_event(connection_id: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """API Gateway's (HTTP API, payload 2.0) event for one webhook delivery."""
    return {
        "headers": {k.lower(): v for k, v in headers.items()},
        "pathParameters": {"connection_id": connection_id},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def receiver_sender() -> Any:
    """The simulator's webhook sender: each delivery goes to `receive_webhook` in process."""
    from urllib.parse import urlsplit

    from jira_onboarding.logic.live.receive import receive_webhook

    def sender(url: str, headers: dict[str, str], body: bytes) -> int:
        connection_id = urlsplit(url).path.rsplit("/", 1)[1]
        return int(receive_webhook(api_event(connection_id, headers, body))["statusCode"])

    return sender


def connect_simulator(monkeypatch: pytest.MonkeyPatch, simulator: JiraSimulator) -> None:
    """Every Jira client the logic opens talks to `simulator` in process (no network, no sleeps)."""
    connect = _CONNECT

    def connect_to_simulator(cls: type[JiraClient], credentials: Any, **kwargs: Any) -> JiraClient:
        kwargs.setdefault("sleep", lambda _seconds: None)
        return connect(cls, credentials, transport=httpx.MockTransport(simulator.httpx_handler), **kwargs)

    monkeypatch.setattr(JiraClient, "connect", classmethod(connect_to_simulator))


def onboard(team_id: str, ws: Workspace, keys: tuple[str, ...] = TRACKED) -> FieldMap:
    """What a finished onboarding run leaves for live updates: the field map, the tracked projects
    (complete, with their estimation fields), and their boards and sprints. Written as given state
    in one batch per table: the run's own writes are the sync's tests' business."""
    repo = TeamStores(team_id)
    field_map = FieldMap.detect([JiraField.model_validate(f) for f in ws.fields])
    repo.connection.save_field_map(field_map.model_dump())
    projects = [ws.project(key) for key in keys]
    bind_tables()
    with TrackedProjectItem.batch_write() as batch:
        for project in projects:
            assert project is not None
            batch.save(
                TrackedProjectItem(
                    team_id,
                    project.key,
                    sync_status=SyncStatus.COMPLETE.value,
                    run_id="run-1",
                    structure_run_id="run-1",
                    estimation_field=project.story_point_field_id,
                    updated_at=utcnow(),
                )
            )
    boards = []
    for project in projects:
        assert project is not None
        board = JiraBoard.from_payload(ws.board(project.board_id))
        assert board is not None
        boards.append((board, project.story_point_field_id))
        sprints = ws.sprints.get(board.id, [])
        if sprints:
            repo.boards.save_sprints(project.key, [JiraSprint.model_validate(s) for s in sprints])
    repo.boards.save_boards(boards)
    return field_map


class Queue:
    """The live-updates queue on moto, and every message the logic sent to it (with its delay)."""

    def __init__(self, url: str, real_client: Any) -> None:
        self.url = url
        self.sent: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self._real = real_client

    def send_message(self, **kwargs: Any) -> Any:
        if self.fail is not None:
            raise self.fail
        self.sent.append(kwargs)
        return self._real.send_message(**kwargs)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(m["MessageBody"]) for m in self.sent]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def live_queue(dynamodb_tables: None) -> Iterator[Queue]:
    """A live-updates queue of this test's own on moto, named by the settings; what is sent to it
    is recorded. The site pacer is off (no budget table): the Jira rate budget is not what these
    tests are about, and its writes would be most of their time."""
    from jira_onboarding import aws
    from jira_onboarding.settings import get_settings

    real_client = aws.client
    real = real_client("sqs", "us-east-1")
    url = real.create_queue(QueueName=f"unit-live-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    queue = Queue(url, real)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "client", lambda s, r: queue if s == "sqs" else real_client(s, r))
        patch.setenv("LIVE_UPDATES_QUEUE_URL", url)
        patch.setenv("JIRA_SITE_BUDGETS_TABLE", "")
        get_settings.cache_clear()
        yield queue
    get_settings.cache_clear()
    real.delete_queue(QueueUrl=url)


def small_workspace() -> Workspace:
    """SMALL, its boards' sprint lists cut to the last closed, the active and the future sprint: live
    updates never read the older ones, and moto's serialisation costs milliseconds per item read."""
    ws = build_workspace(seed=1, size=SMALL)
    for board_id, sprints in ws.sprints.items():
        ws.sprints[board_id] = sprints[-3:]
    return ws


def make_live_team(
    team_id: str, monkeypatch: pytest.MonkeyPatch, auth_kind: str, *, onboarded: bool = True
) -> LiveTeam:
    """The team connected to a small simulated site; with `onboarded`, ALPHA and BETA as a
    finished run left them (`onboard`)."""
    ws = small_workspace()
    simulator = JiraSimulator(ws, email=SIM_EMAIL, api_token=SIM_TOKEN)
    connect_simulator(monkeypatch, simulator)
    hooks, control = live_parts(simulator)
    hooks.site_url = team_site(team_id)  # the site the team's client reaches: its payloads name it
    if auth_kind == "oauth":
        credentials: dict[str, Any] = {
            "client_id": "app-client-id",
            "client_secret": hooks.oauth_client_secret,
            "access_token": OAUTH_TOKEN,
            "refresh_token": "demo-refresh-token",
            "expires_at": 4_102_444_800.0,
        }
    else:
        credentials = {"email": SIM_EMAIL, "api_token": SIM_TOKEN}
    register_connection(team_id, team_site(team_id), auth_kind, credentials)
    field_map = onboard(team_id, ws) if onboarded else FieldMap()
    return LiveTeam(team_id, simulator, hooks, control, field_map)


@pytest.fixture
def live_team(team_id: str, monkeypatch: pytest.MonkeyPatch, live_queue: Queue) -> LiveTeam:
    """A team connected with an API token to a small simulated site, ALPHA and BETA onboarded."""
    return make_live_team(team_id, monkeypatch, "api_token")


@pytest.fixture
def oauth_team(team_id: str, monkeypatch: pytest.MonkeyPatch, live_queue: Queue) -> LiveTeam:
    """The same, connected as an OAuth 2.0 app (dynamic webhooks, JWT-signed deliveries)."""
    return make_live_team(team_id, monkeypatch, "oauth")
