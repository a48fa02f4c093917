"""The demo's live change: after onboarding, an edit in the simulator reaches the store through
the real receiver, queue and consumer, and the metrics are refreshed; the times are printed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jira_simulator import JiraSimulator
    from local_harness.stack import LocalStack

LIVE_TIMEOUT_S = 30.0


def send_to_stack(stack: LocalStack) -> Any:
    """A webhook sender for the simulator: each delivery goes to the stack's HTTP API (the receiver)."""

    def sender(url: str, headers: dict[str, str], body: bytes) -> int:
        path = urlsplit(url).path
        status, _, _ = stack.http("POST", path, team_id=None, raw_body=body.decode(), headers=headers)
        return status

    return sender


def _wait(condition: Any, timeout_s: float = LIVE_TIMEOUT_S) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic()
        time.sleep(0.01)
    return None


def run_live_change(
    stack: LocalStack, simulator: JiraSimulator, team_id: str, issue_key: str, *, dynamic: bool = False
) -> dict[str, Any]:
    """Live updates on, edit one issue in the simulator, and time the edit -> stored item and
    edit -> refreshed metrics. `dynamic`: an OAuth connection, whose selection registered a dynamic
    webhook through Jira's API (JWT-signed deliveries); else an admin webhook with the secret the
    connection hands over."""
    from jira_onboarding.dal.live import LiveStore
    from jira_onboarding.dal.team import TeamStores
    from jira_onboarding.logic.live.registration import enable_live_updates

    from jira_simulator.live import live_parts

    hooks, control = live_parts(simulator)
    hooks.sender = send_to_stack(stack)
    if dynamic:
        stack.drain(timeout_s=LIVE_TIMEOUT_S)  # the selection's registration message
    else:
        setup = enable_live_updates(team_id)
        hooks.register(setup.webhook_url, setup.events, setup.jql, kind="admin", secret=setup.secret)
    stop = hooks.start()
    repo = TeamStores(team_id)
    live = LiveStore(team_id)
    summary = f"Edited live at {datetime.now(UTC):%H:%M:%S}"
    edited_at_wall = datetime.now(UTC)
    try:
        started = time.monotonic()
        hooks.publish(control.edit_issue(issue_key, summary=summary, status="Done"))
        stored_at = _wait(lambda: live.issue_summary(issue_key) == summary)
        latest = repo.metrics.latest_snapshot
        metric_at = _wait(
            lambda: (s := latest()) is not None and s.run_id == "live" and s.computed_at >= edited_at_wall
        )
    finally:
        stop.set()
    return {
        "issue": issue_key,
        "summary": summary,
        "edit_to_stored_s": round(stored_at - started, 3) if stored_at else None,
        "edit_to_metrics_s": round(metric_at - started, 3) if metric_at else None,
        "deliveries": len(hooks.sent),
    }


def print_live(live: dict[str, Any], stream: TextIO) -> None:
    stream.write("\nLive update (Jira webhook -> queue -> consumer)\n")
    stream.write(f"  edited            {live['issue']} in the simulator: {live['summary']!r}\n")
    stored = live["edit_to_stored_s"]
    metrics = live["edit_to_metrics_s"]
    stream.write(
        f"  edit -> stored    {stored:.2f} s\n" if stored is not None else "  edit -> stored    not seen\n"
    )
    stream.write(
        f"  edit -> metrics   {metrics:.2f} s\n" if metrics is not None else "  edit -> metrics   not seen\n"
    )
