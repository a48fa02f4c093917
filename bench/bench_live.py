"""Live updates: edit -> stored latency, the receiver's latency, the consumer's throughput, Jira
calls per event and the cost per 1,000 events.

    .venv/bin/python bench/bench_live.py [--edits 60] [--events 1000] [--latency 0.2]

Everything runs on the local stack from template.yaml: the simulator's signed deliveries go through
the real receiver (HTTP API event), the SQS queue, the event source mapping's poller (the template's
batch size 50 and 1 s batching window) and the real consumer, which refetches from the simulator
(served over HTTP, `--latency` seconds per call). The simulator shares this process (its control API
and deliveries need the workspace), so its JSON rendering competes for the GIL with the pipeline.

1. edit -> stored: one edit at a time, the time from the edit in the simulator until the store
   holds it (p50, p99); each event waits out the batching window when it arrives alone.
2. receiver p99: the receiver's handler alone, in-process, consumer paused (moto's DynamoDB and
   SQS in-process included).
3. consumer: `--events` edits queued while the consumer is paused, then drained: events/s, and Jira
   calls per event counted by the simulator.
4. cost per 1,000 events at us-east-1 list prices: the durations measured here, the DynamoDB write
   units counted on moto, reads and SQS requests counted from what the code does per event.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SIM_EMAIL, SIM_TOKEN, WriteCounter, fmt_table, verdict

TEAM = "bench-team"
# us-east-1 list prices (December 2026 pages): HTTP API, Lambda x86, SQS standard, DynamoDB on demand.
HTTP_API_PER_MILLION = 1.00
LAMBDA_PER_GB_S = 0.0000166667
LAMBDA_PER_MILLION = 0.20
SQS_PER_MILLION = 0.40
DDB_WRU_PER_MILLION = 0.625
DDB_RRU_PER_MILLION = 0.125


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _setup(latency: float) -> tuple[Any, Any, Any, Any, Any]:
    from jira_onboarding.records import TeamMember

    from jira_simulator import JiraSimulator, build_workspace
    from jira_simulator.live import live_parts
    from local_harness.runner import connect_team
    from local_harness.stack import LocalStack

    ws = build_workspace(seed=1)
    sim = JiraSimulator(ws, email=SIM_EMAIL, api_token=SIM_TOKEN)
    serving = sim.serve()
    url = serving.__enter__()
    logs = Path(tempfile.gettempdir()) / "bench-live.log.jsonl"
    stack = LocalStack(log_stream=logs.open("w", encoding="utf-8"))  # type: ignore[arg-type]
    stack.start()
    from jira_onboarding.jira.client import JiraCredentials

    credentials = JiraCredentials(base_url=url, auth_kind="api_token", email=SIM_EMAIL, api_token=SIM_TOKEN)
    connect_team(TEAM, credentials, [TeamMember(team_id=TEAM, **m) for m in ws.team_members])
    keys = [p.key for p in ws.projects]
    code, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
    assert code == 202, body
    stack.wait_for_executions(timeout_s=300)
    assert stack.drain(timeout_s=60)
    hooks, control = live_parts(sim)
    from jira_onboarding.logic.live.registration import enable_live_updates

    from local_harness.live_demo import send_to_stack

    setup = enable_live_updates(TEAM)
    hooks.sender = send_to_stack(stack)
    hooks.register(setup.webhook_url, setup.events, setup.jql, kind="admin", secret=setup.secret)
    sim.latency_s = latency  # onboarding ran without latency; the live path pays it
    return sim, stack, hooks, control, serving


def _edit_to_stored(stack: Any, hooks: Any, control: Any, edits: int, rng: random.Random) -> list[float]:
    from jira_onboarding.dal.live import LiveStore

    live = LiveStore(TEAM)
    stop = hooks.start(interval_s=0.005)
    samples = []
    try:
        for n in range(edits):
            key = f"ALPHA-{rng.randint(1, 120)}"
            summary = f"bench edit {n}"
            started = time.monotonic()
            hooks.publish(control.edit_issue(key, summary=summary))
            while time.monotonic() - started < 30:
                if live.issue_summary(key) == summary:
                    samples.append(time.monotonic() - started)
                    break
                time.sleep(0.005)
    finally:
        stop.set()
    return samples


def _pause(stack: Any) -> Any:
    poller = stack.pollers["ApplyJiraEventsFunction"]
    poller.stop()
    return poller


def _receiver_latency(stack: Any, hooks: Any, control: Any, requests: int) -> tuple[list[float], list[float]]:
    """Wall time of the handler per delivery, and the Lambda durations the stack recorded."""
    poller = _pause(stack)
    changes = []
    for n in range(requests):
        changes += control.edit_issue(f"BETA-{1 + n % 80}", summary=f"receiver {n}")
    hooks.publish(changes)
    with hooks._lock:
        pending, hooks.pending = hooks.pending, []
    walls = []
    for delivery in pending:
        started = time.perf_counter()
        hooks._send_once(delivery, 0)
        walls.append(time.perf_counter() - started)
    durations = [i.seconds for i in stack.invocations if i.function == "ReceiveJiraWebhookFunction"][
        -requests:
    ]
    poller.start()
    assert stack.drain(timeout_s=120)
    return walls, durations


def _consumer(
    stack: Any, sim: Any, hooks: Any, control: Any, events: int, rng: random.Random
) -> dict[str, Any]:
    poller = _pause(stack)
    changes = []
    for n in range(events):
        project, size = rng.choice([("ALPHA", 120), ("BETA", 80), ("GAMMA", 60)])
        changes += control.edit_issue(f"{project}-{rng.randint(1, size)}", summary=f"consumer {n}")
    hooks.publish(changes)
    hooks.flush()
    calls_before = len(sim.request_log)
    invocations_before = len(stack.invocations)
    batches_before = len(poller.batches)
    started = time.monotonic()
    poller.start()
    assert stack.drain(timeout_s=600)
    elapsed = time.monotonic() - started
    jira_calls = [r.endpoint for r in sim.request_log[calls_before:]]
    consumer = [i for i in stack.invocations[invocations_before:] if i.function == "ApplyJiraEventsFunction"]
    batches = poller.batches[batches_before:]
    return {
        "events": events,
        "seconds": round(elapsed, 2),
        "events_per_s": round(events / elapsed, 1),
        "jira_calls": len(jira_calls),
        "jira_calls_by_endpoint": {e: jira_calls.count(e) for e in sorted(set(jira_calls))},
        "jira_calls_per_event": round(len(jira_calls) / events, 3),
        "batches": len(batches),
        "mean_batch": round(statistics.mean(b[0] for b in batches), 1) if batches else 0,
        "consumer_seconds_total": round(sum(i.seconds for i in consumer), 2),
    }


def _cost(receiver_s: float, consumer: dict[str, Any], write_units_per_event: float) -> dict[str, float]:
    per = 1000
    api = HTTP_API_PER_MILLION * per / 1e6
    receiver = per * (LAMBDA_PER_MILLION / 1e6 + 0.25 * receiver_s * LAMBDA_PER_GB_S)
    batches_per_1000 = per * consumer["batches"] / consumer["events"]
    consumer_s_per_1000 = consumer["consumer_seconds_total"] * per / consumer["events"]
    consumer_cost = batches_per_1000 * LAMBDA_PER_MILLION / 1e6 + 1.0 * consumer_s_per_1000 * LAMBDA_PER_GB_S
    # SQS: a SendMessage per event; per batch one ReceiveMessage per 10 messages and one
    # DeleteMessageBatch per 10 (idle long polls of the mapping are extra and not counted here).
    sqs_requests = per + 2 * per / 10
    sqs = SQS_PER_MILLION * sqs_requests / 1e6
    # Reads per event: the endpoint (1 RRU, strongly consistent); per batch per team: tracked
    # projects, connection, boards, the debounce item (~4); counted from the code.
    reads = per * 1 + batches_per_1000 * 4
    ddb = DDB_WRU_PER_MILLION * write_units_per_event * per / 1e6 + DDB_RRU_PER_MILLION * reads / 1e6
    total = api + receiver + consumer_cost + sqs + ddb
    return {
        "http_api": round(api, 6),
        "receiver_lambda": round(receiver, 6),
        "consumer_lambda": round(consumer_cost, 6),
        "sqs": round(sqs, 6),
        "dynamodb": round(ddb, 6),
        "total_usd": round(total, 5),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        help="override the mapping's batching window (seconds), to show the trade-off",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    sim, stack, hooks, control, serving = _setup(args.latency)
    if args.window is not None:
        stack.pollers["ApplyJiraEventsFunction"].window_s = args.window
    try:
        stored = _edit_to_stored(stack, hooks, control, args.edits, rng)
        walls, durations = _receiver_latency(stack, hooks, control, args.requests)
        counter = WriteCounter()
        counter.install()
        counter.reset()
        consumer = _consumer(stack, sim, hooks, control, args.events, rng)
        # The receiver writes nothing; these are the consumer's writes (idempotency records, issues,
        # counters, the debounce) per event.
        write_units_per_event = sum(counter.snapshot()["units"].values()) / args.events
        cost = _cost(statistics.mean(durations), consumer, write_units_per_event)
    finally:
        stack.stop()
        serving.__exit__(None, None, None)
    results = {
        "jira_latency_s": args.latency,
        "batching_window_s": args.window if args.window is not None else "template",
        "edit_to_stored_s": {
            "p50": round(_percentile(stored, 0.5), 3),
            "p99": round(_percentile(stored, 0.99), 3),
            "n": len(stored),
        },
        "receiver_ms": {
            "p50": round(1000 * _percentile(walls, 0.5), 2),
            "p99": round(1000 * _percentile(walls, 0.99), 2),
            "n": len(walls),
        },
        "consumer": consumer,
        "dynamodb_write_units_per_event": round(write_units_per_event, 2),
        "cost_per_1000_events_usd": cost,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    p99_stored = results["edit_to_stored_s"]["p99"]
    p99_receiver = results["receiver_ms"]["p99"]
    rows = [
        ("edit -> stored p50", f"{results['edit_to_stored_s']['p50']:.2f} s", "", ""),
        ("edit -> stored p99", f"{p99_stored:.2f} s", "<= 2 s", verdict(p99_stored <= 2.0)),
        ("receiver p99 (in-process)", f"{p99_receiver:.1f} ms", "<= 50 ms", verdict(p99_receiver <= 50)),
        ("consumer events/s", f"{consumer['events_per_s']}", "", ""),
        (
            "Jira calls per event",
            f"{consumer['jira_calls_per_event']}",
            "<= 0.2",
            verdict(consumer["jira_calls_per_event"] <= 0.2),
        ),
        ("cost per 1,000 events", f"${cost['total_usd']:.5f}", "", ""),
    ]
    print(fmt_table(rows, f"Live updates (Jira latency {args.latency * 1000:.0f} ms)"))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
