"""Issue 16: K teams onboarding at once, all on one Jira site (one shared burst limit) or each on a
site of its own, through the real local stack against the simulator.

    .venv/bin/python bench/bench_shared_site.py                       # 20 teams, one site, then 20 sites
    .venv/bin/python bench/bench_shared_site.py --teams 5 --sites one  # quicker
    .venv/bin/python bench/bench_shared_site.py --no-budget            # the same without the shared budget

One site: every team registers the simulator's own URL (tenant "site"). Many sites: team i
registers a server of its own (its own origin, tenant "site-i", its own bucket). API tokens both.
Figures: calls, 429s, Wait For Jira entries, and the wall time against the
rate bound (the calls of the busiest site / its rate), all measured in the one run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    SIM_EMAIL,
    SIM_TOKEN,
    SimProcess,
    fmt_table,
    scaled_size,
    serialize_powertools_logger,
    verdict,
)


def _run(args: argparse.Namespace, sim: SimProcess, many_sites: bool) -> dict[str, Any]:
    from jira_onboarding.logic.connection.register import register_connection
    from jira_onboarding.settings import get_settings

    from local_harness.stack import LocalStack

    teams = [f"team-{i:02d}" for i in range(args.teams)]
    with LocalStack(
        log_stream=args.log.open("a", encoding="utf-8") if args.log else io.StringIO(),
        dynamodb_process=True,
        parameters={"JiraSiteRequestsPerSecond": args.burst},
    ) as stack:
        if args.no_budget:
            os.environ["JIRA_SITE_BUDGETS_TABLE"] = ""
            get_settings.cache_clear()
        urls = sim.sites(len(teams)) if many_sites else [sim.url] * len(teams)
        for team, url in zip(teams, urls, strict=True):
            register_connection(team, url, "api_token", {"email": SIM_EMAIL, "api_token": SIM_TOKEN})
        keys = sorted(sim._ask("project_counts"))
        sim.clear()
        started = time.monotonic()
        status_urls = {}
        for team in teams:
            code, _, body = stack.http("POST", "/jira/onboarding", team_id=team, body={"project_keys": keys})
            assert code == 202, body
            status_urls[team] = body["status_url"]
        executions = stack.wait_for_executions(timeout_s=args.timeout)
        wall = time.monotonic() - started
        projects: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for team, url in status_urls.items():
            run = stack.http("GET", url, team_id=team)[2]
            for project in run["projects"]:
                projects[project["status"]] += 1
                if project.get("reason"):
                    reasons[project["reason"][:160]] += 1
        waits = 0
        for execution in executions:
            waits += sum(
                1
                for e in stack.execution_history(execution["executionArn"])
                if e["type"] == "WaitStateEntered"
            )
        statuses = Counter(x["status"] for x in executions)
    log = sim.tenant_log()
    per_site = Counter(tenant for tenant, _, _ in log)
    busiest = max(per_site.values()) if per_site else 0
    bound = busiest / args.burst
    return {
        "sites": "many" if many_sites else "one",
        "teams": args.teams,
        "budget": not args.no_budget,
        "calls": len(log),
        "calls_429": sum(1 for _, status, _ in log if status == 429),
        "wait_for_jira_entered": waits,
        "executions": dict(statuses),
        "projects": dict(projects),
        "failure_reasons": dict(reasons),
        "busiest_site_calls": busiest,
        "rate_bound_s": round(bound, 2),
        "wall_s": round(wall, 2),
        "wall_over_bound": round(wall / bound, 3) if bound else None,
    }


def _report(f: dict[str, Any]) -> None:
    share = f["calls_429"] / f["calls"] if f["calls"] else 0.0
    one = f["sites"] == "one"
    rows = [
        ("teams x sites", f"{f['teams']} teams on " + ("one site" if one else f"{f['teams']} sites"), "", ""),
        ("shared budget", str(f["budget"]), "", ""),
        ("executions", str(f["executions"]), "all SUCCEEDED", verdict(set(f["executions"]) == {"SUCCEEDED"})),
        ("projects", str(f["projects"]), "all COMPLETE", verdict(set(f["projects"]) == {"COMPLETE"})),
        ("Jira calls", str(f["calls"]), "", ""),
        ("429s / calls", f"{f['calls_429']} / {f['calls']} = {share:.2%}", "<= 1%", verdict(share <= 0.01)),
        (
            "Wait For Jira entered",
            str(f["wait_for_jira_entered"]),
            "0",
            verdict(f["wait_for_jira_entered"] == 0),
        ),
        ("rate bound (busiest site's calls / rate)", f"{f['rate_bound_s']} s", "", ""),
        ("wall", f"{f['wall_s']} s", "", ""),
        (
            "wall / rate bound",
            str(f["wall_over_bound"]),
            "<= 1.05" if one else "(parallel: no pacing between sites)",
            verdict(f["wall_over_bound"] is not None and f["wall_over_bound"] <= 1.05) if one else "",
        ),
    ]
    print(fmt_table(rows, "bench_shared_site: teams onboarding at once"))
    for reason, count in f["failure_reasons"].items():
        print(f"  FAILED x{count}: {reason}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--scale", type=float, default=0.005, help="of the large workspace, per team")
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--burst", type=float, default=10)
    parser.add_argument("--sites", choices=["one", "many", "both"], default="both")
    parser.add_argument("--no-budget", action="store_true", help="switch the shared budget off")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log", type=Path, help="append the functions' log lines here")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    serialize_powertools_logger()
    sim = SimProcess(seed=1, size=scaled_size(args.scale), latency_s=args.latency_ms / 1000, burst=args.burst)
    results = []
    try:
        for many in {"one": [False], "many": [True], "both": [False, True]}[args.sites]:
            figures = _run(args, sim, many)
            _report(figures)
            results.append(figures)
    finally:
        sim.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
