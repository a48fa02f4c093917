"""The nightly fan-out at 1,000, 10,000 and 100,000 teams of 5 projects: a simulation whose
inputs are the per-invocation durations measured on the local stack (bench/bench_cost.py).

The model, in full:
- Each team has its own EventBridge Scheduler schedule (cron 02:00 UTC, FLEXIBLE window of W
  minutes, template default NIGHTLY_WINDOW_MINUTES=240). Scheduler fires each at a time uniform in
  [0, W) (AWS documents only "within the window"; uniform is the assumption).
- A fire invokes NightlyRetryFunction (its measured duration), which calls StartExecution at its end.
  StartExecution is a token bucket (us-east-1 Standard: 800 burst, 300 per second refill); a start
  that finds it empty is retried by Scheduler (RetryPolicy) after a backoff of 60 s x attempt.
- A started team-night replays one measured team-night (quiet with probability 1 - ACTIVE_SHARE,
  else active): each Lambda invocation at its measured start offset, for its measured duration
  plus its share of the night's Jira calls x JIRA_LATENCY_S (offsets stretched by the same factor).
- Peak concurrency is the most invocations overlapping at any instant, over all functions and per
  function; it is compared with the reserved concurrency the template gives the sync functions
  (ReservedConcurrentExecutions; none = the account's 1,000).
- "Started in the window": the share of teams whose execution started before 02:00 + W.

    .venv/bin/python bench/bench_fleet.py [--teams 1000,10000,100000] [--window-minutes 240] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (repo and layer on sys.path)
from _common import env_float

PROFILE = Path(__file__).resolve().parent / "out" / "team_night_profile.json"
ACTIVE_SHARE = env_float("ACTIVE_SHARE", 0.3)
START_BUCKET, START_REFILL_PER_S = 800.0, 300.0
ACCOUNT_CONCURRENCY = 1000


def _night_shape(phase: dict[str, Any]) -> tuple[float, list[tuple[str, float, float]]]:
    """(nightly function seconds, [(function, offset after the start, seconds)]) of one night."""
    invocations = phase["invocations"]
    nightly = [i for i in invocations if i["function"] == "NightlyRetryFunction"]
    rest = [i for i in invocations if i["function"] != "NightlyRetryFunction"]
    starts = phase.get("offsets") or []
    if len(starts) != len(rest):  # no measured offsets: one after the other (an upper bound on length)
        starts, at = [], 0.0
        for i in rest:
            starts.append(at)
            at += i["seconds"]
    return (nightly[0]["seconds"] if nightly else 0.05), [
        (i["function"], offset, i["seconds"]) for i, offset in zip(rest, starts, strict=True)
    ]


def _reserved(template: dict[str, Any]) -> dict[str, int]:
    """Each function's ReservedConcurrentExecutions (a parameter's default where it is a Ref)."""
    parameters = template.get("Parameters", {})
    reserved = {}
    for logical_id, resource in template["Resources"].items():
        value = resource.get("Properties", {}).get("ReservedConcurrentExecutions")
        if resource.get("Type") != "AWS::Serverless::Function" or value is None:
            continue
        if isinstance(value, dict) and "Ref" in value:
            value = parameters[value["Ref"]]["Default"]
        reserved[logical_id] = int(value)
    return reserved


def simulate(teams: int, window_s: float, quiet: Any, active: Any, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    fires = sorted(rng.uniform(0, window_s) for _ in range(teams))
    events: list[tuple[float, int, str]] = []
    starts: list[float] = []
    tokens, last = START_BUCKET, 0.0
    retry: list[tuple[float, int]] = []  # (time, attempt)
    pending = [(t, 0) for t in fires]
    heapq.heapify(pending)
    while pending:
        fire_at, attempt = heapq.heappop(pending)
        nightly_s, shape = active if rng.random() < ACTIVE_SHARE else quiet
        events += [(fire_at, 1, "NightlyRetryFunction"), (fire_at + nightly_s, -1, "NightlyRetryFunction")]
        start_at = fire_at + nightly_s
        # starts arrive almost in time order (fires are; the nightly function's duration varies)
        tokens = min(START_BUCKET, tokens + max(0.0, start_at - last) * START_REFILL_PER_S)
        last = max(last, start_at)
        if tokens < 1:
            heapq.heappush(pending, (fire_at + 60.0 * (attempt + 1), attempt + 1))
            retry.append((fire_at, attempt))
            continue
        tokens -= 1
        starts.append(start_at)
        for function, offset, seconds in shape:
            events += [(start_at + offset, 1, function), (start_at + offset + seconds, -1, function)]
    events.sort(key=lambda e: (e[0], e[1]))
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    total = peak_total = 0
    for _, delta, function in events:
        running[function] += delta
        total += delta
        peak[function] = max(peak[function], running[function])
        peak_total = max(peak_total, total)
    starts.sort()
    per_second = Counter(int(t) for t in starts)
    in_window = bisect.bisect_left(starts, window_s)
    return {
        "teams": teams,
        "started_in_window": in_window / teams,
        "peak_concurrency": peak_total,
        "peak_by_function": dict(peak),
        "start_rate_peak_per_s": max(per_second.values()) if per_second else 0,
        "start_rate_mean_per_s": round(len(starts) / window_s, 2),
        "throttled_starts": len(retry),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", default="1000,10000,100000")
    parser.add_argument("--window-minutes", type=float, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not PROFILE.exists():
        raise SystemExit(f"{PROFILE} is missing: run bench/bench_cost.py first (it measures the inputs)")
    from jira_onboarding.settings import Settings

    from local_harness.template import load_template

    template = load_template()
    window_min = args.window_minutes or float(Settings.model_fields["nightly_window_minutes"].default)
    phases = json.loads(PROFILE.read_text())
    quiet, active = _night_shape(phases["quiet_night"]), _night_shape(phases["active_night"])
    reserved = _reserved(template)
    rows = [simulate(int(n), window_min * 60, quiet, active) for n in args.teams.split(",")]
    if args.json:
        print(json.dumps({"window_minutes": window_min, "reserved": reserved, "rows": rows}, indent=2))
        return
    print(
        f"window {window_min:.0f} min, {ACTIVE_SHARE:.0%} active team-nights, StartExecution bucket "
        f"{START_BUCKET:.0f} + {START_REFILL_PER_S:.0f}/s, reserved {reserved or 'none'}"
    )
    print(
        f"{'teams':>8} {'started in window':>18} {'peak Lambda':>12} {'account':>8} "
        f"{'peak starts/s':>14} {'quota/s':>8} {'throttled':>10}"
    )
    for row in rows:
        print(
            f"{row['teams']:>8} {row['started_in_window']:>18.1%} {row['peak_concurrency']:>12} "
            f"{ACCOUNT_CONCURRENCY:>8} {row['start_rate_peak_per_s']:>14} {START_REFILL_PER_S:>8.0f} "
            f"{row['throttled_starts']:>10}"
        )
        sync_peaks = {f: row["peak_by_function"].get(f, 0) for f in reserved}
        if sync_peaks:
            print(
                f"{'':>8} per reserved function: "
                + ", ".join(f"{f} {p}/{reserved[f]}" for f, p in sync_peaks.items())
            )


if __name__ == "__main__":
    main()
