"""Run the whole pipeline locally: register the connection, POST the selection through the real
start handler, poll the real status handler, and summarise what was stored."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from jira_onboarding.dal.team import TeamStores, dump_team
from jira_onboarding.jira.client import JiraClient, JiraCredentials
from jira_onboarding.logic.connection.register import register_connection
from jira_onboarding.records import PullRequest, TeamMember

from local_harness.metrics_report import TOP_INSIGHTS, metrics_digest, print_metrics
from local_harness.stack import LocalStack


class RunnerError(Exception):
    """One line for a person: the run could not even start."""


@dataclass
class ProjectSummary:
    key: str
    status: str
    issues_stored: int
    reason: str | None = None
    ground_truth: int | None = None


@dataclass
class RunSummary:
    run_id: str
    run_status: str
    elapsed_seconds: float
    users_fetched: int | None
    users_matched: int | None
    users: dict[str, Any] | None
    users_error: str | None = None
    projects: list[ProjectSummary] = field(default_factory=list)
    metrics: dict[str, Any] | None = None  # GET /jira/metrics after the run
    insights: dict[str, Any] | None = None  # GET /jira/insights after the run
    timed_out: bool = False  # the run was still going at `timeout_s`

    def as_json(self) -> dict[str, Any]:
        return {
            "metrics": metrics_digest(self.metrics),
            "insights": (self.insights or {}).get("insights", [])[:TOP_INSIGHTS],
            "run_id": self.run_id,
            "status": self.run_status,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "users": {
                "fetched": self.users_fetched,
                "matched": self.users_matched,
                "matched_by_evidence": (self.users or {}).get("matched_by_evidence", 0),
                "ambiguous": len((self.users or {}).get("ambiguous", [])),
                "unmatched_members": (self.users or {}).get("unmatched_members", []),
                "unmatched_jira_users": (self.users or {}).get("unmatched_jira_users"),
                "unmatched_jira_user_names": (self.users or {}).get("unmatched_jira_user_names", []),
                **({"error": self.users_error} if self.users_error else {}),
            },
            "projects": [
                {
                    "key": p.key,
                    "status": p.status,
                    "issues_stored": p.issues_stored,
                    **({"ground_truth": p.ground_truth} if p.ground_truth is not None else {}),
                    **({"reason": p.reason} if p.reason else {}),
                }
                for p in self.projects
            ],
        }


def check_credentials(credentials: JiraCredentials) -> str:
    """Fail fast with one clear line on a wrong URL or refused credentials."""
    from jira_onboarding.errors import JiraError

    client = JiraClient.connect(credentials, timeout_s=10.0, max_attempts=1)
    try:
        me = client.myself()
    except JiraError as exc:
        raise RunnerError(exc.reason) from exc
    finally:
        client.close()
    return me.display_name or me.account_id


class ProgressPrinter:
    """A live progress bar per project on a terminal; plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._lines = 0
        self._last: str | None = None

    def update(self, status: dict[str, Any]) -> None:
        rows = []
        for project in status["projects"]:
            total = project.get("issues_total_estimate")
            percent = project.get("percent") or 0
            filled = int(percent / 5)
            bar = "#" * filled + "-" * (20 - filled)
            count = f"{project['issues_stored']}/{total if total is not None else '?'}"
            rows.append(
                f"  {project['project_key']:<10} [{bar}] {percent:>3}%  {count:<12} {project['status']}"
            )
        text = "\n".join(rows)
        if self.tty:
            if self._lines:
                self.stream.write(f"\x1b[{self._lines}F\x1b[J")
            self.stream.write(text + "\n")
            self._lines = len(rows)
        elif text != self._last:
            self.stream.write(text + "\n\n")
        self.stream.flush()
        self._last = text


def connect_team(
    team_id: str, credentials: JiraCredentials | None, members: Iterable[TeamMember] = ()
) -> None:
    """Seed the team's GitHub-side members, and register its Jira connection with `credentials`
    (a person's own API token or bearer token: never collected from a customer). None: the team
    is connected already (through the OAuth app: local_harness/oauth_connect.py)."""
    repo = TeamStores(team_id)
    for member in members:
        repo.people.save_member(member)
    if credentials is None:
        return
    secret = (
        {"email": credentials.email, "api_token": credentials.api_token}
        if credentials.auth_kind == "api_token"
        else {"access_token": credentials.access_token}  # a static bearer token: no refresh
    )
    register_connection(team_id, credentials.base_url, credentials.auth_kind, secret)


def run_pipeline(
    stack: LocalStack,
    *,
    team_id: str,
    credentials: JiraCredentials | None,
    project_keys: list[str],
    members: Iterable[TeamMember] = (),
    progress: ProgressPrinter | None = None,
    poll_interval_s: float = 0.2,
    timeout_s: float = 600.0,
    ground_truth: Callable[[str], int | None] | None = None,
    pull_requests: Iterable[dict[str, Any]] = (),
) -> RunSummary:
    repo = TeamStores(team_id)
    connect_team(team_id, credentials, members)
    # What the product's GitHub integration would have stored (docs/pull_request_contract.md).
    repo.metrics.save_pull_requests(
        PullRequest.model_validate({**pr, "team_id": team_id}) for pr in pull_requests
    )
    started = time.monotonic()
    status_code, _, body = stack.http(
        "POST", "/jira/onboarding", team_id=team_id, body={"project_keys": project_keys}
    )
    if status_code != 202:
        message = body.get("message") if isinstance(body, dict) else body
        raise RunnerError(f"the start request was refused ({status_code}): {message}")
    deadline = started + timeout_s
    while True:
        code, _, status = stack.http("GET", body["status_url"], team_id=team_id)
        if code != 200:
            raise RunnerError(f"the status request failed ({code}): {status}")
        if progress:
            progress.update(status)
        if status["done"] or time.monotonic() > deadline:
            break
        time.sleep(max(0.0, min(poll_interval_s, deadline - time.monotonic())))
    elapsed = time.monotonic() - started
    timed_out = not status["done"]
    if timed_out:
        return RunSummary(
            run_id=status["run_id"],
            run_status=status["status"],
            elapsed_seconds=elapsed,
            users_fetched=None,
            users_matched=None,
            users=None,
            timed_out=True,
        )
    stack.wait_for_executions(timeout_s=30)
    _, _, status = stack.http("GET", body["status_url"], team_id=team_id)
    users = status.get("users") or {}
    metrics_code, _, metrics = stack.http("GET", "/jira/metrics", team_id=team_id)
    insights_code, _, insights = stack.http("GET", "/jira/insights", team_id=team_id)
    return RunSummary(
        metrics=metrics if metrics_code == 200 else None,
        insights=insights if insights_code == 200 else None,
        run_id=status["run_id"],
        run_status=status["status"],
        elapsed_seconds=elapsed,
        users_fetched=users.get("users_fetched"),
        users_matched=users.get("matched"),
        users=users or None,
        users_error=status.get("users_error"),
        projects=[
            ProjectSummary(
                key=p["project_key"],
                status=p["status"],
                issues_stored=repo.issues.count(p["project_key"]),
                reason=p.get("reason"),
                ground_truth=ground_truth(p["project_key"]) if ground_truth else None,
            )
            for p in status["projects"]
        ],
    )


def print_summary(summary: RunSummary, stream: TextIO = sys.stdout) -> None:
    users = summary.users or {}
    out = stream.write
    out("\nJira onboarding summary\n")
    out(f"  run               {summary.run_id} ({summary.run_status})\n")
    out(f"  elapsed           {summary.elapsed_seconds:.2f} s\n")
    fetched = summary.users_fetched if summary.users_fetched is not None else "n/a"
    matched = summary.users_matched if summary.users_matched is not None else "n/a"
    out(f"  Jira users        {fetched} fetched\n")
    if summary.users_error:
        out(f"  users not synced  {summary.users_error}\n")
    by_prs = users.get("matched_by_evidence") or 0
    out(
        f"  team members      {matched} matched of "
        f"{users.get('members', 'n/a')}{f' ({by_prs} by their pull requests)' if by_prs else ''}, "
        f"{len(users.get('ambiguous', []))} ambiguous, "
        f"{len(users.get('unmatched_members', []))} unmatched\n"
    )
    if users.get("unmatched_members"):
        out(f"  unmatched members {', '.join(users['unmatched_members'])}\n")
    if users.get("unmatched_jira_user_names"):
        out(f"  unclaimed in Jira {', '.join(users['unmatched_jira_user_names'])}\n")
    if users.get("ambiguous"):
        out(f"  ambiguous         {', '.join(a['member_id'] for a in users['ambiguous'])}\n")
    with_truth = any(p.ground_truth is not None for p in summary.projects)
    out("\n  project     status      issues stored" + ("   in Jira" if with_truth else "") + "\n")
    for p in summary.projects:
        truth = f"   {p.ground_truth:>8}" if p.ground_truth is not None else ""
        out(f"  {p.key:<10}  {p.status:<10}  {p.issues_stored:>13}{truth}\n")
        if p.reason:
            out(f"              {p.reason}\n")
    print_metrics(summary.metrics, summary.insights, stream)
    stream.flush()


def dump_items(team_id: str, path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for item in dump_team(team_id):
            handle.write(json.dumps(item, default=str, sort_keys=True) + "\n")
            count += 1
    return count
