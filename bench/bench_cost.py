"""Dollars per onboarding, per quiet team-night, per active team-night and per team-month, at list
prices, from operations counted on the local stack (the real template, state machine and handlers).

What is counted, per phase (one team of 5 projects, ~400 issues, Jira simulator in-process):
- Step Functions state transitions: the StateEntered events of the phase's executions (Standard
  workflows bill each state entered, retries included).
- Lambda: requests, and GB-seconds = the measured duration of each invocation (harness) x the
  function's MemorySize from template.yaml, plus the phase's Jira calls x an assumed Jira latency
  (JIRA_LATENCY_S, default 0.3 s: the simulator answers at once, Jira Cloud does not) at 1024 MB.
- DynamoDB on demand: write units (ceil(item KB) per item written, twice in a transaction) and
  read units (ceil(KB/4) per item read, halved as eventually consistent reads) on moto's backend.
- every other AWS call by service (KMS, Secrets Manager, Scheduler, SQS, Step Functions).
Prices: us-east-1 list prices (PRICES below, checked 2026-12). Storage and logs are left out.

Writes bench/out/team_night_profile.json (the invocations of each phase), which
bench/bench_fleet.py takes as its measured input.

    .venv/bin/python bench/bench_cost.py [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repo and the layer on sys.path)
from _common import SIM_EMAIL, SIM_TOKEN, WriteCounter, env_float

OUT = Path(__file__).resolve().parent / "out"
TEAM = "team-cost"
JIRA_LATENCY_S = env_float("JIRA_LATENCY_S", 0.3)
ACTIVE_SHARE = env_float("ACTIVE_SHARE", 0.3)  # share of team-nights with activity in Jira
NIGHTS_PER_MONTH = 30

PRICES = {
    "state_transition": 0.025 / 1000,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_s": 0.0000166667,
    "ddb_wru": 0.625 / 1_000_000,
    "ddb_rru": 0.125 / 1_000_000,
    "kms_request": 0.03 / 10_000,
    "kms_key_month": 1.00,
    "secrets_request": 0.05 / 10_000,
    "secret_month": 0.40,
    "scheduler_invocation": 1.00 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
}
JIRA_FUNCTIONS = {
    "PlanSyncFunction",
    "SyncUsersFunction",
    "SyncSegmentFunction",  # (once a stale name: tests/infrastructure/test_docs_resolve.py)
    "ReconcileRunFunction",
}


class ReadCounter:
    """Read units DynamoDB would charge on demand, counted on moto's backend per item read."""

    def __init__(self) -> None:
        self.units = 0.0
        self.lock = threading.Lock()

    def add(self, items: list[Any]) -> None:
        size = 0
        for item in items:
            try:
                size += item.size()
            except Exception:
                continue
        with self.lock:
            self.units += 0.5 * max(1, math.ceil(size / 4096))

    def install(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        counter = self
        original_get, original_query, original_scan = (
            DynamoDBBackend.get_item,
            DynamoDBBackend.query,
            DynamoDBBackend.scan,
        )

        def get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
            item = original_get(self, *args, **kwargs)
            counter.add([item] if item is not None else [])
            return item

        def query(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original_query(self, *args, **kwargs)
            counter.add(list(result[0]))
            return result

        def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original_scan(self, *args, **kwargs)
            counter.add(list(result[0]))
            return result

        DynamoDBBackend.get_item, DynamoDBBackend.query, DynamoDBBackend.scan = get_item, query, scan


class CallCounter:
    """Every AWS API call made in this process, by service and operation."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def install(self) -> None:
        import botocore.client

        counter = self
        original = botocore.client.BaseClient._make_api_call

        def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            counter.calls[(self.meta.service_model.service_name, operation_name)] += 1
            return original(self, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]


def _memory_mb(stack: Any, logical_id: str) -> int:
    props = stack.model.resources[logical_id]["Properties"]
    default = stack.model.raw.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return int(props.get("MemorySize", default))


def _transitions(stack: Any, arns: list[str]) -> int:
    import boto3

    client = boto3.client("stepfunctions", region_name="us-east-1")
    total = 0
    for arn in arns:
        for page in client.get_paginator("get_execution_history").paginate(executionArn=arn):
            total += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
    return total


class Phase:
    """The counters between `start` and `stop` of one phase (onboarding, a night)."""

    def __init__(self, stack: Any, sim: Any, writes: WriteCounter, reads: ReadCounter, calls: CallCounter):
        self.stack, self.sim, self.writes, self.reads, self.calls = stack, sim, writes, reads, calls

    def start(self) -> None:
        self.invocations_at = len(self.stack.invocations)
        self.executions_before = {e["executionArn"] for e in self.stack.list_executions()}
        self.jira_at = len(self.sim.request_log)
        self.writes.reset()
        self.reads.units = 0.0
        self.calls.calls.clear()
        self.started = time.monotonic()

    def stop(self) -> dict[str, Any]:
        self.stack.wait_for_executions(timeout_s=300)
        invocations = self.stack.invocations[self.invocations_at :]
        arns = [
            e["executionArn"]
            for e in self.stack.list_executions()
            if e["executionArn"] not in self.executions_before
        ]
        jira_calls = len(self.sim.request_log) - self.jira_at
        jira_invocations = [i for i in invocations if i.function in JIRA_FUNCTIONS] or invocations
        jira_s_each = jira_calls * JIRA_LATENCY_S / max(1, len(jira_invocations))
        profile = [
            {
                "function": i.function,
                "seconds": round(i.seconds + (jira_s_each if i in jira_invocations else 0.0), 4),
                "memory_mb": _memory_mb(self.stack, i.function),
            }
            for i in invocations
        ]
        # when each invocation began after the night's first task, stretched like the durations
        rest = [
            (i, p) for i, p in zip(invocations, profile, strict=True) if i.function != "NightlyRetryFunction"
        ]
        first = min((i.ended_at - i.seconds for i, _ in rest), default=0.0)
        stretch = sum(p["seconds"] for _, p in rest) / max(1e-9, sum(i.seconds for i, _ in rest))
        offsets = [round((i.ended_at - i.seconds - first) * stretch, 4) for i, _ in rest]
        calls = {f"{service}:{op}": n for (service, op), n in sorted(self.calls.calls.items())}
        return {
            "executions": len(arns),
            "state_transitions": _transitions(self.stack, arns),
            "lambda_requests": len(invocations),
            "lambda_gb_s": round(sum(p["seconds"] * p["memory_mb"] / 1024 for p in profile), 3),
            "ddb_wru": sum(self.writes.snapshot()["units"].values()),
            "ddb_rru": round(self.reads.units, 1),
            "jira_calls": jira_calls,
            # Locally every execution environment is a thread of one process, sharing one data-key
            # cache; in Lambda each cold environment decrypts the data key once. The upper bound:
            # every credentials-reading invocation in a cold environment (one Decrypt each).
            "kms_requests": max(
                sum(n for k, n in calls.items() if k.startswith("kms:")),
                sum(1 for i in invocations if i.function in JIRA_FUNCTIONS),
            ),
            "secrets_requests": sum(n for k, n in calls.items() if k.startswith("secretsmanager:")),
            "sqs_requests": sum(n for k, n in calls.items() if k.startswith("sqs:")),
            "scheduler_invocations": sum(1 for i in invocations if i.function == "NightlyRetryFunction"),
            "aws_calls": calls,
            "invocations": profile,
            "offsets": offsets,
        }


def dollars(phase: dict[str, Any]) -> dict[str, float]:
    return {
        "step_functions": phase["state_transitions"] * PRICES["state_transition"],
        "lambda": phase["lambda_requests"] * PRICES["lambda_request"]
        + phase["lambda_gb_s"] * PRICES["lambda_gb_s"],
        "dynamodb": phase["ddb_wru"] * PRICES["ddb_wru"] + phase["ddb_rru"] * PRICES["ddb_rru"],
        "kms": phase["kms_requests"] * PRICES["kms_request"],
        "secrets_manager": phase["secrets_requests"] * PRICES["secrets_request"],
        "sqs": phase["sqs_requests"] * PRICES["sqs_request"],
        "scheduler": phase["scheduler_invocations"] * PRICES["scheduler_invocation"],
    }


def _workspace() -> Any:
    from jira_simulator import ProjectSpec, Workspace, WorkspaceSize
    from jira_simulator.workspace import build_workspace

    size = WorkspaceSize(
        projects=(
            ProjectSpec("ALPHA", "Alpha Platform", "classic", "scrum", 120),
            ProjectSpec("BETA", "Beta Mobile", "classic", "scrum", 80),
            ProjectSpec("GAMMA", "Gamma Team", "next-gen", "scrum", 60),
            ProjectSpec("OPS", "Operations", "classic", "kanban", 40),
            ProjectSpec("DATA", "Data Platform", "classic", "scrum", 100),
        ),
        users=60,
    )
    workspace: Workspace = build_workspace(seed=3, size=size)
    return workspace


def measure() -> dict[str, Any]:
    """Run onboarding, a quiet night and an active night of one team; the counted phases."""
    from jira_onboarding.dal.team import TeamStores
    from jira_onboarding.logic.connection.register import register_connection
    from jira_onboarding.records import TeamMember

    from jira_simulator import JiraSimulator
    from local_harness.stack import LocalStack

    workspace = _workspace()
    sim = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    writes, reads, calls = WriteCounter(), ReadCounter(), CallCounter()
    phases: dict[str, Any] = {}
    with sim.serve() as url, LocalStack() as stack:
        writes.install()
        reads.install()
        calls.install()
        phase = Phase(stack, sim, writes, reads, calls)
        register_connection(TEAM, url, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})
        for member in workspace.team_members:
            TeamStores(TEAM).people.save_member(TeamMember(team_id=TEAM, **member))
        keys = [p.key for p in workspace.size.projects]

        phase.start()
        status, _, body = stack.http("POST", "/jira/onboarding", team_id=TEAM, body={"project_keys": keys})
        assert status == 202, body
        phases["onboarding"] = phase.stop()

        phase.start()
        for _, result, error in stack.fire_schedules(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())):
            assert error is None, result
        phases["quiet_night"] = phase.stop()

        for key in keys:  # a day's work: a few issues edited in every project
            for raw in workspace.issues_by_project[key][:3]:
                workspace.update_issue(raw["key"], summary=f"{raw['fields']['summary']} (edited)")
        time.sleep(1.1)  # the next night's run id differs by its time
        phase.start()
        for _, result, error in stack.fire_schedules(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())):
            assert error is None, result
        phases["active_night"] = phase.stop()
    return phases


def report(phases: dict[str, Any]) -> dict[str, Any]:
    per = {name: dollars(phase) for name, phase in phases.items()}
    totals = {name: sum(d.values()) for name, d in per.items()}
    night = ACTIVE_SHARE * totals["active_night"] + (1 - ACTIVE_SHARE) * totals["quiet_night"]
    month = NIGHTS_PER_MONTH * night
    return {
        "per_phase_dollars": per,
        "totals": totals,
        "team_month": month,
        "team_month_with_secret_per_team": month + PRICES["secret_month"],
        "kms_key_month_at_100k_teams": PRICES["kms_key_month"] / 100_000,
        "assumptions": {"jira_latency_s": JIRA_LATENCY_S, "active_share": ACTIVE_SHARE},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    phases = measure()
    OUT.mkdir(exist_ok=True)
    (OUT / "team_night_profile.json").write_text(json.dumps(phases, indent=2))
    summary = report(phases)
    if args.json:
        print(
            json.dumps(
                {
                    "phases": {
                        k: {x: y for x, y in v.items() if x != "invocations"} for k, v in phases.items()
                    },
                    **summary,
                },
                indent=2,
            )
        )
        return
    print("counted operations per phase (one team, 5 projects, 400 issues)")
    columns = [
        "executions",
        "state_transitions",
        "lambda_requests",
        "lambda_gb_s",
        "ddb_wru",
        "ddb_rru",
        "jira_calls",
        "kms_requests",
        "secrets_requests",
        "sqs_requests",
        "scheduler_invocations",
    ]
    print(f"{'':24}" + "".join(f"{name:>14}" for name in phases))
    for column in columns:
        print(f"{column:24}" + "".join(f"{phases[name][column]:>14}" for name in phases))
    print("\ndollars (list prices, us-east-1)")
    for service in next(iter(summary["per_phase_dollars"].values())):
        print(
            f"{service:24}"
            + "".join(f"{summary['per_phase_dollars'][name][service]:>14.7f}" for name in phases)
        )
    print(f"{'total':24}" + "".join(f"{summary['totals'][name]:>14.7f}" for name in phases))
    print(
        f"\nper team-month ({NIGHTS_PER_MONTH} nights, {ACTIVE_SHARE:.0%} of them active): "
        f"${summary['team_month']:.4f}; with a Secrets Manager secret per team it was "
        f"${summary['team_month_with_secret_per_team']:.4f}; the one KMS key adds "
        f"${summary['kms_key_month_at_100k_teams']:.6f} per team at 100,000 teams"
    )


if __name__ == "__main__":
    main()
