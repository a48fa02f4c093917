"""Shared helpers of the benchmarks: the Jira simulator in its own process, scaled workspaces,
the minimum number of Jira calls a workspace needs, and a counter of DynamoDB item writes.

The simulator runs in a child process so its JSON rendering and HTTP threads neither share the
GIL with the pipeline under test nor show up in its memory figures.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL

REPO_ROOT = Path(__file__).resolve().parent.parent
for extra in (REPO_ROOT, REPO_ROOT / "layers" / "shared"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

SIM_EMAIL, SIM_TOKEN = DEMO_EMAIL, DEMO_API_TOKEN
PAGE_WITH_FIELDS = 100  # the simulator's (and Jira's) cap when fields are requested
USER_PAGE = 1000
AGILE_PAGE = 50
CHANGELOG_ISSUES = 1000
CHANGELOG_PAGE = 10000  # documented maximum of maxResults on bulkfetch


def scaled_size(scale: float, users: int | None = None) -> Any:
    """The "large" workspace (10 projects, 50,000 issues, one of 30,000, 1,000 users) scaled."""
    from jira_simulator import ProjectSpec, WorkspaceSize

    large = WorkspaceSize.large()
    projects = tuple(
        ProjectSpec(p.key, p.name, p.style, p.board_type, max(1, round(p.issues * scale)))
        for p in large.projects
    )
    return WorkspaceSize(projects=projects, users=users or max(25, round(large.users * scale)))


def _ground_truth(ws: Any, sprint_field: str) -> dict[str, Any]:
    projects = {}
    for p in ws.projects:
        issues = ws.issues_by_project[p.key]
        entries = []
        for issue in issues:
            entries.append(
                sum(
                    1
                    for h in ws.changelog(issue["key"])
                    if any(it["fieldId"] in (sprint_field, "status") for it in h["items"])
                )
            )
        boards = [b for b in ws.boards if b["location"]["projectKey"] == p.key]
        projects[p.key] = {
            "issues": len(issues),
            "changelog_entries": entries,
            "boards": [
                {"id": b["id"], "type": b["type"], "sprints": len(ws.sprints.get(b["id"], []))}
                for b in boards
            ],
        }
    return {"users": len(ws.users), "projects": projects}


def _serve(
    conn: Any, seed: int, size: Any, latency_s: float, burst: float | None, tls: bool, limits: dict | None
) -> None:
    from jira_simulator import JiraSimulator, build_workspace
    from jira_simulator.ratelimits import RateLimits, SiteLimits

    ws = build_workspace(seed=seed, size=size)
    # Every tenant (the site itself, or /ex/jira/{cloudId}) gets the same limits; by default one
    # burst bucket per tenant for all endpoints, so the rate bound is "calls / rate".
    site = SiteLimits(**{"burst_per_second": burst, "burst_scope": "site", **(limits or {})})
    sim = JiraSimulator(
        ws, email=SIM_EMAIL, api_token=SIM_TOKEN, latency_s=latency_s, rate_limits=RateLimits(site)
    )
    with sim.serve(tls=tls) as url, contextlib.ExitStack() as sites:
        conn.send({"url": url, "cert": sim.tls_cert_path})
        while True:
            command, arg = conn.recv()
            if command == "sites":  # `arg` more sites, each its own origin and tenant ("site-i")
                conn.send([sites.enter_context(sim.serve(tenant=f"site-{i}")) for i in range(arg)])
                continue
            if command == "stop":
                conn.send(None)
                return
            if command == "log":
                with sim._lock:
                    log = [(r.endpoint, r.status, r.at, r.path) for r in sim.request_log]
                conn.send(log)
            elif command == "tenant_log":  # (tenant, status, at) of every request
                with sim._lock:
                    conn.send([(r.tenant, r.status, r.at) for r in sim.request_log])
            elif command == "refusals":  # (tenant, reason, at) of every 429 the limits answered
                conn.send(list(sim.limits.refusals))
            elif command == "truth":
                conn.send(_ground_truth(ws, ws.sprint_field_id))
            elif command == "count":  # issues matching each JQL query, as the search answers them
                from jira_simulator.server import parse_jql

                conn.send([len(sim._matching(parse_jql(jql))[0]) for jql in arg])
            elif command == "clear":
                with sim._lock:
                    sim.request_log.clear()
                conn.send(None)
            elif command == "set":
                from jira_simulator.ratelimits import RateLimits, SiteLimits

                sim.latency_s = arg[0]
                sim.limits = RateLimits(SiteLimits(burst_per_second=arg[1] or None, burst_scope="site"))
                conn.send(None)
            elif command == "project_counts":
                conn.send({p.key: len(ws.issues_by_project[p.key]) for p in ws.projects})


class SimProcess:
    """The simulator served (HTTP or HTTPS) by a child process."""

    def __init__(
        self,
        *,
        seed: int,
        size: Any,
        latency_s: float,
        burst: float | None,
        tls: bool = False,
        limits: dict[str, Any] | None = None,
    ):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, seed, size, latency_s, burst, tls, limits), daemon=True
        )
        self._proc.start()
        hello = self._conn.recv()
        self.url: str = hello["url"]
        self.cert: str | None = hello["cert"]
        self._io = threading.Lock()

    def _ask(self, command: str, arg: Any = None) -> Any:
        with self._io:
            self._conn.send((command, arg))
            return self._conn.recv()

    def log(self) -> list[tuple[str, int, float, str]]:
        return self._ask("log")

    def clear(self) -> None:
        self._ask("clear")

    def sites(self, count: int) -> list[str]:
        """Base URLs of `count` more sites served by the simulator, each a tenant of its own."""
        return self._ask("sites", count)

    def tenant_log(self) -> list[tuple[str, int, float]]:
        return self._ask("tenant_log")

    def refusals(self) -> list[tuple[str, str, float]]:
        return self._ask("refusals")

    def truth(self) -> dict[str, Any]:
        return self._ask("truth")

    def count(self, queries: list[str]) -> list[int]:
        return self._ask("count", queries)

    def set_limits(self, latency_s: float, burst: float | None) -> None:
        self._ask("set", (latency_s, burst))

    def stop(self) -> None:
        try:
            self._ask("stop")
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.kill()


def minimum_calls(truth: dict[str, Any], *, fields_per_run: bool = True) -> dict[str, int]:
    """The fewest Jira calls a full sync of the workspace needs, endpoint by endpoint.

    Users: pages of 1,000 until an empty page (a full page cannot prove it is the last). Fields: once
    per site. Per project: one approximate count (progress bar), one versions call (release dates),
    one boards page, per board its configuration and (scrum) its sprint pages of 50, search pages of
    100 (the cap with fields), and bulk changelog calls of up to 1,000 issues, each answering up to
    10,000 histories."""
    need: Counter[str] = Counter()
    need["users"] = math.ceil(truth["users"] / USER_PAGE) + 1
    need["fields"] = 1
    for p in truth["projects"].values():
        need["approximate-count"] += 1
        need["versions"] += 1
        need["boards"] += 1
        for b in p["boards"]:
            need["board configuration"] += 1
            if b["type"] == "scrum":
                need["sprints"] += max(1, math.ceil(b["sprints"] / AGILE_PAGE))
        need["search"] += max(1, math.ceil(p["issues"] / PAGE_WITH_FIELDS))
        entries = p["changelog_entries"]
        for start in range(0, len(entries), CHANGELOG_ISSUES):
            need["changelog"] += max(
                1, math.ceil(sum(entries[start : start + CHANGELOG_ISSUES]) / CHANGELOG_PAGE)
            )
    need["total"] = sum(v for k, v in need.items())
    return dict(need)


def minimum_points(truth: dict[str, Any], need: dict[str, int]) -> int:
    """The points Jira's cost model charges for the fewest calls: a base point per call, plus +2
    per user listed, +1 per issue in its search page and +1 per issue with history in its bulk
    changelog (issues without any change are not in that answer)."""
    issues = sum(p["issues"] for p in truth["projects"].values())
    with_history = sum(1 for p in truth["projects"].values() for n in p["changelog_entries"] if n)
    return need["total"] + 2 * truth["users"] + issues + with_history


def classify(endpoint: str) -> str:
    e = endpoint
    if "users/search" in e:
        return "users"
    if e.endswith("/field"):
        return "fields"
    if "approximate-count" in e:
        return "approximate-count"
    if "search/jql" in e:
        return "search"
    if "changelog/bulkfetch" in e:
        return "changelog"
    if "configuration" in e:
        return "board configuration"
    if e.endswith("/versions"):
        return "versions"
    if "/sprint" in e:
        return "sprints"
    if e.rstrip("/").endswith("/board"):
        return "boards"
    return e


@dataclass
class WriteCounter:
    """Counts DynamoDB item writes on moto's backend, per table: every put, update and delete (a
    batch write counts each of its items; a transaction each of its writes, ConditionChecks not).
    `units` is what DynamoDB would charge on demand: ceil(item size / 1 KB) per write, twice that in
    a transaction; moto's `Item.size()` gives the size after the write."""

    def __post_init__(self) -> None:
        self.items: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self.first_at: dict[str, float] = {}
        self.enabled = True
        self._lock = threading.Lock()
        self._depth = threading.local()

    def record(self, table: str, item: Any, factor: int = 1) -> None:
        import time

        size = 1
        with contextlib.suppress(Exception):
            size = max(1, math.ceil(item.size() / 1024)) if item is not None else 1
        with self._lock:
            short = table.rsplit("-", 1)[-1]
            self.items[short] += 1
            self.units[short] += size * factor
            self.first_at.setdefault(short, time.monotonic())

    def reset(self) -> None:
        with self._lock:
            self.items.clear()
            self.units.clear()
            self.first_at.clear()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """items and units per table, and when each table was first written (time.monotonic)."""
        with self._lock:
            return {"items": dict(self.items), "units": dict(self.units), "first_at": dict(self.first_at)}

    def install(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        counter = self
        if getattr(DynamoDBBackend, "_bench_counter", None) is not None:
            DynamoDBBackend._bench_counter = counter
            return
        DynamoDBBackend._bench_counter = counter

        def wrap(name: str) -> None:
            original = getattr(DynamoDBBackend, name)

            def counted(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
                depth = getattr(counter._depth, "n", 0)
                counter._depth.n = depth + 1
                try:
                    result = original(self, table_name, *args, **kwargs)
                finally:
                    counter._depth.n = depth
                active = DynamoDBBackend._bench_counter
                if depth == 0 and active is not None and active.enabled:
                    active.record(table_name, result)
                return result

            setattr(DynamoDBBackend, name, counted)

        for name in ("put_item", "update_item", "delete_item"):
            wrap(name)
        original_transact = DynamoDBBackend.transact_write_items

        def transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
            depth = getattr(counter._depth, "n", 0)
            counter._depth.n = depth + 1
            try:
                result = original_transact(self, transact_items)
            finally:
                counter._depth.n = depth
            active = DynamoDBBackend._bench_counter
            if depth == 0 and active is not None and active.enabled:
                for entry in transact_items:
                    for kind, body in entry.items():
                        if kind != "ConditionCheck":
                            active.record(body.get("TableName", "?"), None, factor=2)
            return result

        DynamoDBBackend.transact_write_items = transact


def serve_write_counter(controls: dict[str, Any]) -> None:
    """`--setup` of local_harness/dynamodb_process.py: count the writes in the DynamoDB process."""
    counter = WriteCounter()
    counter.install()

    def reset() -> dict[str, Any]:
        counter.reset()
        return {}

    controls["writes"] = counter.snapshot
    controls["writes-reset"] = reset


class RemoteWriteCounter:
    """The WriteCounter of a DynamoDB process of its own (LocalStack(dynamodb_process=True))."""

    setup = "bench._common:serve_write_counter"

    def __init__(self, process: Any) -> None:
        self.process = process

    def reset(self) -> None:
        self.process.control("writes-reset")

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return dict(self.process.control("writes"))


def serialize_powertools_logger() -> None:
    """In Lambda each execution environment runs one invocation at a time; the local stack runs the
    Map's four project steps (and the status polls) as threads of one process, sharing Powertools'
    one logger. Its `append_keys` mutates the dict a concurrent `format` iterates ("dictionary
    changed size during iteration"), which fails a step on a warning log line. Serialize the
    formatter's key updates and formatting in the benchmark process: a harness artefact, not a
    behaviour of the functions."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if getattr(LambdaPowertoolsFormatter, "_bench_locked", False):
        return
    lock = threading.RLock()
    for name in ("format", "append_keys", "remove_keys", "clear_state", "get_current_keys"):
        original = getattr(LambdaPowertoolsFormatter, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(LambdaPowertoolsFormatter, name, locked)
    LambdaPowertoolsFormatter._bench_locked = True


def fmt_table(rows: list[tuple[str, str, str, str]], title: str) -> str:
    """A plain table: figure | measured | target | verdict."""
    head = ("figure", "measured", "target", "")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    out = [title, line, "  ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    out.append(line)
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("MET" if ok else "NOT MET")


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def by_project(log: list[tuple[str, int, float, str]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for _, _, _, path in log:
        counts[path] += 1
    return counts
