"""A live world for the tests: the local stack onboarded from the simulator, with live updates on
and the simulator's webhook deliveries sent to the stack's receiver (through the HTTP API seam)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jira_onboarding.dal.team import TeamStores
from jira_onboarding.logic.live.registration import LiveUpdatesSetup, enable_live_updates

from jira_simulator import JiraSimulator, ProjectSpec, WorkspaceSize, build_workspace
from jira_simulator.control import Control
from jira_simulator.live import live_parts
from jira_simulator.webhooks import DeliveryFaults, WebhookDispatcher
from local_harness.live_demo import send_to_stack
from local_harness.stack import LocalStack
from tests.conftest import SIM_EMAIL, SIM_TOKEN, TEAM, connect_team, select_and_wait

WEBHOOK_BASE = "https://hooks.example.test"
SMALL = WorkspaceSize(
    projects=(
        ProjectSpec("ALPHA", "Alpha Platform", "classic", "scrum", 30),
        ProjectSpec("BETA", "Beta Mobile", "next-gen", "scrum", 20),
        ProjectSpec("OPS", "Operations", "classic", "kanban", 10),
    ),
    users=25,
)
TRACKED = ["ALPHA", "BETA"]


@dataclass
class LiveWorld:
    stack: LocalStack
    simulator: JiraSimulator
    hooks: WebhookDispatcher
    control: Control
    setup: LiveUpdatesSetup
    team_id: str = TEAM

    def deliver(self) -> int:
        """Send the pending deliveries (with the configured faults), then let the queue drain."""
        attempts = self.hooks.flush()
        assert self.stack.drain(timeout_s=60), "the live-updates queue did not drain"
        return attempts

    def stored(self) -> dict[str, dict[str, Any]]:
        return {i["issue_key"]: i for i in TeamStores(self.team_id).issues.iter_items()}


@contextmanager
def live_world(
    *, faults: DeliveryFaults | None = None, seed: int = 1, kind: str = "admin"
) -> Iterator[LiveWorld]:
    """Onboarded (ALPHA and BETA tracked, OPS not) with live updates on. `kind`: "admin" (an
    API-token connection; a Jira admin registers the webhook with the URL, secret, events and JQL
    the connection handed over) or "dynamic" (an OAuth connection; the selection registers a
    dynamic webhook through `/rest/api/3/webhook`, whose deliveries are JWT-signed)."""
    workspace = build_workspace(seed=seed, size=SMALL)
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    hooks, control = live_parts(simulator)
    if faults is not None:
        hooks.faults = faults
    # An admin webhook belongs to an API-token connection: a self-hosted deployment that opted in.
    parameters = {
        "WebhookBaseUrl": WEBHOOK_BASE,
        "AllowApiTokenConnections": "true" if kind == "admin" else "false",
    }
    with simulator.serve() as jira_url, LocalStack(parameters=parameters) as stack:
        hooks.sender = send_to_stack(stack)
        if kind == "dynamic":
            setup = connect_oauth_team(TEAM, jira_url, hooks.oauth_client_secret)
            connect_team(TEAM, jira_url, workspace, register=False)
        else:
            connect_team(TEAM, jira_url, workspace)
            setup = enable_live_updates(TEAM)
        select_and_wait(stack, TRACKED)
        assert stack.drain(timeout_s=30)
        if kind == "admin":
            hooks.register(setup.webhook_url, setup.events, setup.jql, kind="admin", secret=setup.secret)
        yield LiveWorld(stack, simulator, hooks, control, setup)


def table_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (to prove a refused delivery wrote nothing)."""
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    out: dict[str, list[dict[str, Any]]] = {}
    for name in client.list_tables()["TableNames"]:
        items = client.scan(TableName=name)["Items"]
        out[name] = sorted(items, key=lambda i: repr(sorted(i.items())))
    return out


def consumer_batches(stack: LocalStack) -> int:
    return len(stack.pollers["ApplyJiraEventsFunction"].batches)


def connect_oauth_team(team_id: str, jira_url: str, client_secret: str) -> LiveUpdatesSetup:
    """A second team on the same site, connected as an OAuth 2.0 app (its webhooks are JWT-signed)."""
    from jira_onboarding.logic.connection.register import register_connection

    register_connection(
        team_id,
        jira_url,
        "oauth",
        {
            "client_id": "app-client-id",
            "client_secret": client_secret,
            "access_token": "demo-oauth-token",
            "refresh_token": "demo-refresh-token",
            "expires_at": 4_102_444_800.0,
        },
    )
    return enable_live_updates(team_id)


def truth(world: LiveWorld, projects: list[str]) -> dict[str, tuple[Any, ...]]:
    """The simulator's issues of `projects` as the store should hold them."""
    ws = world.simulator.ws
    out = {}
    for key in projects:
        project = ws.project(key)
        assert project is not None
        for issue in ws.issues_by_project[key]:
            fields = issue["fields"]
            points = fields.get(project.story_point_field_id)
            sprints = sorted(s["id"] for s in fields.get(ws.sprint_field_id) or [])
            out[issue["key"]] = (
                fields["summary"],
                fields["status"]["name"],
                float(points) if points is not None else None,
                sprints,
            )
    return out


def stored_live(world: LiveWorld, projects: list[str]) -> dict[str, tuple[Any, ...]]:
    """The stored issues of `projects` that are not marked deleted, in `truth`'s shape."""
    out = {}
    for key, item in world.stored().items():
        if item.get("deleted") or item["project_key"] not in projects:
            continue
        points = item.get("story_points")
        out[key] = (
            item["summary"],
            item.get("status_name"),
            float(points) if points is not None else None,
            sorted(int(s) for s in item.get("sprint_ids") or []),
        )
    return out


def sprint_states(world: LiveWorld, projects: list[str]) -> tuple[dict[int, str], dict[int, str]]:
    """(simulator, store): sprint id -> state, for the boards of `projects`."""
    ws = world.simulator.ws
    boards = {p.board_id for p in ws.projects if p.key in projects}
    simulated = {s["id"]: s["state"] for b in boards for s in ws.sprints.get(b, [])}
    stored = {s.id: s.state for s in TeamStores(world.team_id).boards.list_sprints() if s.board_id in boards}
    return simulated, stored
