"""Figures 2-5 and 7: the large workspace through the real local stack (template, state machine,
handlers on moto) against the Jira simulator with latency and a burst limit.

    .venv/bin/python bench/bench_sync.py                 # full: 50,000 issues, 200 ms, 10 req/s
    .venv/bin/python bench/bench_sync.py --scale 0.1     # quick: 5,000 issues
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    SIM_EMAIL,
    SIM_TOKEN,
    RemoteWriteCounter,
    SimProcess,
    WriteCounter,
    classify,
    fmt_table,
    minimum_calls,
    minimum_points,
    scaled_size,
    serialize_powertools_logger,
    verdict,
)

TEAM = "bench-team"


def _poll(stack: Any, status_url: str, started: float, timeout_s: float, marks: dict[str, float]) -> dict:
    while True:
        code, _, status = stack.http("GET", status_url, team_id=TEAM)
        assert code == 200, status
        now = time.monotonic() - started
        if any(p["issues_stored"] for p in status["projects"]):
            marks.setdefault("first_issue_status", now)
        if all(p["status"] in ("COMPLETE", "FAILED") for p in status["projects"]):
            marks.setdefault("all_complete", now)
            return status
        if now > timeout_s:
            return status
        # The page polls every 0.5 s at most (web/app.js FIRST_POLL_MS); each poll runs the status
        # handler in this process, so polling faster would take CPU from the pipeline it measures.
        time.sleep(0.5)


def _tracked_memory_hook(peaks: list[tuple[str, int, int]]) -> Any:
    """Wraps SyncSegmentFunction: tracemalloc peak (process-wide while it runs) and the
    bytes still held afterwards (moto's stored items), per invocation."""
    lock = threading.Lock()

    def hook(handler: Any, event: dict, context: Any) -> Any:
        with lock:
            tracemalloc.start()
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            try:
                return handler(event, context)
            finally:
                current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                peaks.append((event.get("project_key", "?"), peak - base, current - base))

    return hook


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    parser.add_argument("--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", "200")))
    parser.add_argument("--burst", type=float, default=float(os.environ.get("BENCH_BURST", "10")))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--skip-memory", action="store_true", help="skip the separate memory pass")
    parser.add_argument(
        "--no-budget",
        action="store_true",
        help="switch the shared site budget off (the code before issue 16)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--dynamodb",
        choices=["process", "in-process"],
        default="process",
        help="moto's DynamoDB in a process of its own (default; as DynamoDB is a service of its own "
        "in AWS) or in the process of the handlers",
    )
    args = parser.parse_args()

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from jira_onboarding.dal.team import TeamStores
    from jira_onboarding.logic.connection.register import register_connection

    from local_harness.stack import LocalStack

    serialize_powertools_logger()
    size = scaled_size(args.scale)
    latency_s = args.latency_ms / 1000
    sim = SimProcess(seed=args.seed, size=size, latency_s=latency_s, burst=args.burst or None)
    truth = sim.truth()
    need = minimum_calls(truth)
    keys = list(truth["projects"])
    total_issues = sum(p["issues"] for p in truth["projects"].values())
    figures: dict[str, Any] = {
        "scale": args.scale,
        "latency_ms": args.latency_ms,
        "burst_per_s": args.burst,
        "issues": total_issues,
        "projects": len(keys),
        "users": truth["users"],
        "largest_issues": max(p["issues"] for p in truth["projects"].values()),
    }
    separate = args.dynamodb == "process"
    figures["dynamodb"] = args.dynamodb
    log_path = Path(os.environ.get("BENCH_LOG", "/tmp/bench_sync.log.jsonl"))
    logs = log_path.open("w", encoding="utf-8")
    try:
        with LocalStack(
            log_stream=logs,
            dynamodb_process=separate,
            dynamodb_setup=RemoteWriteCounter.setup if separate else None,
            # The site's budget is sized as the simulator's burst limit: the configuration a site has.
            parameters={"JiraSiteRequestsPerSecond": args.burst or 1000},
        ) as stack:
            if args.no_budget:
                from jira_onboarding.settings import get_settings

                os.environ["JIRA_SITE_BUDGETS_TABLE"] = ""
                get_settings.cache_clear()
            figures["budget"] = not args.no_budget
            writes: WriteCounter | RemoteWriteCounter
            if stack.dynamodb is not None:
                writes = RemoteWriteCounter(stack.dynamodb)
            else:
                writes = WriteCounter()
                writes.install()
            register_connection(TEAM, sim.url, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})
            # Compute Metrics is skipped here: on moto, reading 50,000 issues back is quadratic (moto's
            # query rescans the partition per page), which measures moto, not the function; figure 6
            # (bench_metrics.py) times the metrics themselves. Its start time is still recorded.
            metrics_started: list[float] = []

            def skip_metrics(handler: Any, event: dict, context: Any) -> Any:
                metrics_started.append(time.monotonic())
                return {"team_id": event["team_id"], "run_id": event["run_id"], "skipped": "bench"}

            stack.dispatch_hooks["ComputeMetricsFunction"] = skip_metrics
            sim.clear()
            writes.reset()
            marks: dict[str, float] = {}
            started = time.monotonic()
            started_wall = time.time()  # the simulator logs wall-clock times
            cpu_started = time.process_time()  # CPU of every thread of this process (the local stack)
            ddb_cpu_started = stack.dynamodb.control("cpu") if stack.dynamodb else 0.0
            code, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
            marks["post_answered"] = time.monotonic() - started
            assert code == 202, body
            status = _poll(stack, body["status_url"], started, args.timeout, marks)
            run_id = body["run_id"]
            stack.wait_for_executions(timeout_s=args.timeout)
            marks["execution_done"] = time.monotonic() - started
            # Everything here (handlers, moto, Step Functions) shares one interpreter: CPU seconds
            # close to the wall time mean the local run was bound by this process's CPU, not by Jira.
            figures["cpu_seconds"] = round(time.process_time() - cpu_started, 1)
            if stack.dynamodb is not None:
                figures["dynamodb_cpu_seconds"] = round(stack.dynamodb.control("cpu") - ddb_cpu_started, 1)
            counted = writes.snapshot()
            marks["compute_metrics_started"] = metrics_started[0] - started if metrics_started else math.nan
            first_issue = counted["first_at"].get("JiraIssuesTable")
            marks["first_issue_stored"] = (first_issue - started) if first_issue else math.nan
            log = sim.log()
            repo = TeamStores(TEAM)
            stored = {k: repo.issues.count(k) for k in keys}
            figures["projects_status"] = {p["project_key"]: p["status"] for p in status["projects"]}
            figures["reasons"] = {
                p["project_key"]: p.get("reason") for p in status["projects"] if p.get("reason")
            }
            figures["stored_equals_jira"] = all(stored[k] == truth["projects"][k]["issues"] for k in keys)
            # The run's segments (disjoint JQL queries, see logic/run/plan.py) and their sizes: the
            # longest chain of pages the plan leaves.
            segments = [
                (project.project_key, name, segment.jql)
                for project in repo.projects.list_tracked()
                for name, segment in project.segments.items()
            ]
            counts = sim.count([jql for _, _, jql in segments])
            figures["segments"] = [(key, name, n) for (key, name, _), n in zip(segments, counts, strict=True)]
            figures["marks_s"] = {k: round(v, 3) for k, v in marks.items()}
            # What happened before the first issue was stored: each Jira call, seconds after the POST.
            figures["calls_before_first_issue"] = [
                (round(at - started_wall, 2), classify(e))
                for e, _, at, _ in log
                if first_issue and at - started_wall <= first_issue - started
            ]
            # Every call of the run: seconds after the POST, endpoint kind, status, and the 4th field
            # the simulator logs (the JQL or the path), to find the critical path.
            figures["calls_timeline"] = [
                (round(at - started_wall, 3), classify(e), code, detail) for e, code, at, detail in log
            ]
            calls = Counter(classify(e) for e, s, _, _ in log)
            figures["calls_total"] = len(log)
            figures["calls_by_endpoint"] = dict(calls)
            figures["calls_429"] = sum(1 for _, s, _, _ in log if s == 429)
            figures["calls_min"] = need
            # Points: what the run's steps recorded (Jira's cost model, budget/site.py) and the
            # model's minimum for the same data (_common.minimum_points).
            final = stack.http("GET", body["status_url"], team_id=TEAM)[2]
            figures["run_id"] = run_id
            figures["points_spent"] = final.get("jira_points")
            figures["points_calls_recorded"] = final.get("jira_calls")
            figures["points_min"] = minimum_points(truth, need)
            figures["issue_writes"] = counted["items"].get("JiraIssuesTable", 0)
            figures["writes_items"] = counted["items"]
            figures["writes_units"] = counted["units"]
            figures["invocations"] = Counter(i.function for i in stack.invocations)
            # Every invocation but the status polls: function, project and segment, start and length.
            figures["invocations_timeline"] = [
                (
                    i.function,
                    i.event.get("project_key"),
                    i.event.get("segment"),
                    round(i.ended_at - i.seconds - started, 3),
                    round(i.seconds, 3),
                )
                for i in stack.invocations
                if i.function != "GetSyncStatusFunction"
            ]

            # 7. Nightly with nothing changed: the real nightly handler starts an incremental run.
            sim.clear()
            writes.reset()
            t0 = time.monotonic()
            # the team's own nightly schedule fires (tonight's nominal time: now)
            for _, result, error in stack.fire_schedules(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())):
                assert error is None, result
            stack.wait_for_executions(timeout_s=args.timeout)
            figures["nightly_seconds"] = round(time.monotonic() - t0, 2)
            nlog = sim.log()
            figures["nightly_calls"] = len(nlog)
            figures["nightly_calls_by_endpoint"] = dict(Counter(classify(e) for e, _, _, _ in nlog))
            counted = writes.snapshot()
            figures["nightly_issue_writes"] = counted["items"].get("JiraIssuesTable", 0)
            figures["nightly_writes_items"] = counted["items"]
    finally:
        pass

    # Peak memory of the sync function: a separate pass (tracemalloc slows everything down, so it
    # stays out of the timed run) on the largest project, no latency, no burst limit, one invocation
    # at a time. Reported: the peak above the start, and the part of it still held afterwards (the
    # items moto stores in-process, which a real Lambda would not hold).
    if not args.skip_memory:
        sim.set_limits(0.0, None)
        largest = max(keys, key=lambda k: truth["projects"][k]["issues"])
        peaks: list[tuple[str, int, int]] = []
        with LocalStack(log_stream=io.StringIO()) as stack:
            register_connection(TEAM, sim.url, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})
            stack.dispatch_hooks["SyncSegmentFunction"] = _tracked_memory_hook(peaks)
            code, _, body = stack.http(
                "POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": [largest]}
            )
            assert code == 202, body
            stack.wait_for_executions(timeout_s=args.timeout)
        figures["memory_project"] = largest
        figures["memory_peak_mb"] = round(max(p[1] for p in peaks) / 2**20, 1) if peaks else None
        figures["memory_retained_mb"] = round(max(p[2] for p in peaks) / 2**20, 1) if peaks else None
        figures["memory_invocations"] = len(peaks)
    sim.stop()

    report(figures, latency_s, args.burst)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    return 0


def _points_row(f: dict[str, Any]) -> str:
    per = 1000 / f["issues"]
    minimum = f"{f['points_min'] * per:.0f}"
    if f.get("points_spent") is None:
        return f"(not recorded without the budget) / {minimum}"
    return f"{f['points_spent'] * per:.0f} / {minimum} = {f['points_spent'] / f['points_min']:.3f}"


def report(f: dict[str, Any], latency_s: float, burst: float) -> None:
    need = f["calls_min"]
    rate_bound = need["total"] / burst if burst else 0.0
    # The longest chain: the search pages of the largest segment one after another (a project is
    # split into segments fetched in parallel; unsplit, the largest project would be the chain).
    largest_segment = max((n for _, _, n in f.get("segments", [])), default=f["largest_issues"])
    chain_pages = math.ceil(largest_segment / 100)
    unsplit_bound = math.ceil(f["largest_issues"] / 100) * latency_s
    chain_bound = (chain_pages or 0) * latency_s
    lower = max(rate_bound, chain_bound, 1e-9)
    marks = f["marks_s"]
    wall = marks.get("all_complete", math.nan)
    issues = f["issues"]
    units = f["writes_units"].get("JiraIssuesTable", 0)
    calls_ratio = f["calls_total"] / need["total"]
    rows = [
        ("workspace", f"{f['projects']} projects, {issues} issues, {f['users']} users", "", ""),
        ("simulator", f"{latency_s * 1000:.0f} ms/call, burst {burst:g} req/s", "", ""),
        ("2. POST answered", f"{marks['post_answered']:.2f} s", "", ""),
        (
            "2. POST -> first issue stored",
            f"{marks['first_issue_stored']:.2f} s",
            "<= 5 s",
            verdict(marks["first_issue_stored"] <= 5),
        ),
        (
            "2. POST -> first issue in the status",
            f"{marks.get('first_issue_status', math.nan):.2f} s (polled every 0.5 s)",
            "",
            "",
        ),
        ("2. POST -> all projects COMPLETE", f"{wall:.1f} s", "", ""),
        ("2. POST -> Compute Metrics step reached", f"{marks['compute_metrics_started']:.1f} s", "", ""),
        ("3. lower bound: calls needed / rate", f"{need['total']} / {burst:g} = {rate_bound:.1f} s", "", ""),
        (
            "3. lower bound: longest chain x latency",
            f"{chain_pages} x {latency_s:.2f} = {chain_bound:.1f} s "
            f"(largest segment, {largest_segment} issues; unsplit: {unsplit_bound:.1f} s)",
            "",
            "",
        ),
        ("3. wall / lower bound", f"{wall / lower:.3f}", "<= 1.05", verdict(wall / lower <= 1.05)),
        (
            "3. CPU of the local stack / wall",
            f"{f.get('cpu_seconds', math.nan):.1f} s / {f['marks_s'].get('execution_done', math.nan):.1f} s",
            "",
            "",
        ),
        (
            "3. CPU of moto's DynamoDB / wall",
            f"{f['dynamodb_cpu_seconds']:.1f} s (its own process)"
            if "dynamodb_cpu_seconds" in f
            else "(in the local stack's process)",
            "",
            "",
        ),
        (
            "4. Jira calls made / minimum",
            f"{f['calls_total']} / {need['total']} = {calls_ratio:.3f}",
            "<= 1.01",
            verdict(calls_ratio <= 1.01),
        ),
        (
            "4. 429s / calls",
            f"{f['calls_429']} / {f['calls_total']} = {f['calls_429'] / max(1, f['calls_total']):.2%}",
            "<= 0.5%",
            verdict(f["calls_429"] <= 0.005 * f["calls_total"]),
        ),
        (
            "4. points per 1,000 issues: spent / model minimum",
            _points_row(f),
            "",
            "",
        ),
        ("4. shared site budget", str(f.get("budget", True)), "", ""),
        (
            "5. issue-table writes per stored issue",
            f"{f['issue_writes'] / issues:.3f} items, {units / issues:.3f} WCU",
            "",
            "",
        ),
        ("5. all-table write units per issue", f"{sum(f['writes_units'].values()) / issues:.3f} WCU", "", ""),
        (
            "5. sync function peak memory",
            f"{f.get('memory_peak_mb')} MB traced ({f.get('memory_retained_mb')} MB "
            f"retained by moto) on {f.get('memory_project')}",
            "",
            "",
        ),
        (
            "7. nightly, nothing changed: calls/project",
            f"{f['nightly_calls']} / {f['projects']} = {f['nightly_calls'] / f['projects']:.2f}",
            "1",
            verdict(f["nightly_calls"] <= f["projects"]),
        ),
        (
            "7. nightly, nothing changed: issue writes",
            str(f["nightly_issue_writes"]),
            "0",
            verdict(f["nightly_issue_writes"] == 0),
        ),
        (
            "store equals Jira, all COMPLETE",
            str(f["stored_equals_jira"] and set(f["projects_status"].values()) == {"COMPLETE"}),
            "True",
            "",
        ),
    ]
    print(fmt_table(rows, "bench_sync: the large workspace through the local stack"))
    print("calls by endpoint (made vs minimum):")
    for name in sorted(set(f["calls_by_endpoint"]) | set(need) - {"total"}):
        print(f"  {name:<22} {f['calls_by_endpoint'].get(name, 0):>6}  {need.get(name, 0):>6}")
    print(f"writes (items) by table: {f['writes_items']}")
    print(f"write units by table:    {f['writes_units']}")
    print(f"nightly calls by endpoint: {f['nightly_calls_by_endpoint']}; writes: {f['nightly_writes_items']}")
    print(f"invocations: {dict(f['invocations'])}")
    if f.get("reasons"):
        print(f"FAILED projects: {f['reasons']}")


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
