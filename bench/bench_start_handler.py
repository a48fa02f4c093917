"""Figure 1: the start handler's warm latency in-process (p50/p99), and every function's cold
import time (a fresh interpreter importing functions/<name>/app.py, as a Lambda init does).

    .venv/bin/python bench/bench_start_handler.py [--requests 300] [--cold-runs 5]

Warm: POST /jira/onboarding through the real handler on the local stack (moto), each request a
different team so none is an idempotent replay. moto's StartExecution is set not to run the state
machine here (real Step Functions starts executions asynchronously), so only the handler is timed,
moto's in-process DynamoDB, Secrets Manager and Step Functions calls included.

Cold: by default only the packages the shared layer ships (layers/shared/requirements.txt and what
they depend on) can be imported, as in Lambda. The development venv also holds test tools, and some
runtime packages import them when present: httpx loads click, rich and pygments (schemathesis'
dependencies) for its command line, ~100 ms that a Lambda never pays. `--dev-venv` measures with
everything the venv holds, as this benchmark did before.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, SIM_EMAIL, SIM_TOKEN, fmt_table, verdict

COLD_SNIPPET = """
import importlib.util, sys, time
for name in sys.argv[2:]:
    sys.modules[name] = None  # not in the layer: importing it raises ImportError, as in Lambda
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(f"{(time.perf_counter() - t0) * 1000:.1f}")
"""


def dev_only_modules() -> list[str]:
    """Top-level modules of installed distributions the layer does not ship (not required, even
    indirectly, by layers/shared/requirements.txt)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = (REPO_ROOT / "layers" / "shared" / "requirements.txt").read_text().splitlines()
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    shipped: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        shipped.add(key[0])
        for raw in metadata.requires(req.name) or []:
            dep = Requirement(raw)
            extras = req.extras or {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dep)
    return sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if module != "jira_onboarding" and not any(canonicalize_name(d) in shipped for d in dists)
    )


def cold_imports(runs: int, *, dev_venv: bool = False) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "layers" / "shared"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "jira-onboarding",
        "POWERTOOLS_METRICS_NAMESPACE": "JiraOnboarding",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    hidden = [] if dev_venv else dev_only_modules()
    out: dict[str, float] = {}
    for app in sorted((REPO_ROOT / "functions").glob("*/app.py")):
        samples = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", COLD_SNIPPET, str(app), *hidden],
                capture_output=True,
                text=True,
                env=env,
                cwd=app.parent,
                check=True,
            )
            samples.append(float(done.stdout.strip().splitlines()[-1]))
        out[app.parent.name] = statistics.median(samples)
    return out


def warm_start(requests: int) -> list[float]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import boto3
    from jira_onboarding.logic.connections import register_connection
    from moto.core.config import default_user_config

    from local_harness.stack import LocalStack

    samples: list[float] = []
    with LocalStack(log_stream=io.StringIO()) as stack:
        sfn = boto3.client("stepfunctions", region_name=os.environ.get("AWS_REGION", "us-east-1"))
        machine = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)
        default_user_config["stepfunctions"]["execute_state_machine"] = False
        # moto keeps state machines that execute and those that do not in two separate backends:
        # without the same state machine in the second one, every StartExecution failed and the
        # benchmark timed the "could not start, queued for the nightly run" path.
        sfn.create_state_machine(
            name=machine["name"], definition=machine["definition"], roleArn=machine["roleArn"]
        )
        try:
            for n in range(requests + 20):
                team = f"team-{n:04d}"
                register_connection(
                    team,
                    "https://example.atlassian.net",
                    "api_token",
                    {"email": SIM_EMAIL, "api_token": SIM_TOKEN},
                )
                t0 = time.perf_counter()
                code, _, body = stack.http(
                    "POST", "/jira/onboarding", team_id=team, body={"project_keys": ["CORE"]}
                )
                elapsed = (time.perf_counter() - t0) * 1000
                assert code == 202 and body["status"] == "RUNNING", body
                if n >= 20:  # the first requests warm the handler and moto up
                    samples.append(elapsed)
        finally:
            default_user_config["stepfunctions"]["execute_state_machine"] = True
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument(
        "--dev-venv", action="store_true", help="cold imports may use every package of the dev venv"
    )
    args = parser.parse_args()
    cold = cold_imports(args.cold_runs, dev_venv=args.dev_venv)
    warm = sorted(warm_start(args.requests))
    p50 = statistics.median(warm)
    p99 = warm[min(len(warm) - 1, int(len(warm) * 0.99))]
    rows = [
        ("1. start handler warm p50", f"{p50:.1f} ms", "", ""),
        ("1. start handler warm p99", f"{p99:.1f} ms", "<= 50 ms", verdict(p99 <= 50)),
    ]
    for name, ms in cold.items():
        rows.append((f"1. cold import {name}", f"{ms:.0f} ms", "<= 500 ms", verdict(ms <= 500)))
    print(
        fmt_table(
            rows,
            f"bench_start_handler: {len(warm)} warm requests, cold import median of {args.cold_runs}"
            f" ({'dev venv' if args.dev_venv else 'layer packages only'})",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
