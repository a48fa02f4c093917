"""Figure 1: the start handler's warm latency in-process (p50/p99), and every function's cold
import time, measured on what `sam build` ships.

    make build && .venv/bin/python bench/bench_start_handler.py [--requests 300] [--cold-runs 9]

Warm: POST /jira/onboarding through the real handler on the local stack (moto), each request a
different team so none is an idempotent replay. moto's StartExecution is set not to run the state
machine here (real Step Functions starts executions asynchronously), so only the handler is timed,
moto's in-process DynamoDB, Secrets Manager and Step Functions calls included.

Cold: a fresh interpreter imports `.aws-sam/build/<Function>/app.py` as a Lambda init does, with
the runtime's view of the world:
- sys.path is the function's folder and the built layer's python/ only (`python -S`: none of the dev
  venv's packages, which the layer does not ship and some libraries import when present);
- nothing is written back (PYTHONDONTWRITEBYTECODE, as on Lambda's read-only /opt), so a module
  without bytecode in the artifact is compiled from source on every run, as it would be there;
- the function's environment from template.yaml, with the variables Lambda sets
  (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME), so tracing is on where the template says
  `Tracing: Active` and Powertools' tracer imports the X-Ray SDK and patches what it traces.
Runs are interleaved (one of each function, then again) so a slow moment of the machine does not
land on one function only. `--strip-bytecode` measures a copy of the build without __pycache__
(the layer as SAM's python3.11 builder shipped it).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SIM_EMAIL, SIM_TOKEN, fmt_table, verdict

from local_harness.template import BUILD_DIR, FunctionSpec, build_is_stale, template_model

LAYER_ID = "SharedLayer"

COLD_SNIPPET = """
import importlib.util, sys, time
sys.path[:0] = sys.argv[2:]
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(f"{(time.perf_counter() - t0) * 1000:.1f}")
"""


def _lambda_environment(
    function: FunctionSpec, code_dir: Path, tracing: bool, parameters: dict[str, Any]
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "LAMBDA_TASK_ROOT": str(code_dir),
    }
    for name, raw in function.environment.items():
        value = parameters[raw["Ref"]] if isinstance(raw, dict) and raw.get("Ref") in parameters else raw
        # Names and ARNs of resources become placeholders: settings are read per request.
        env[name] = str(value) if isinstance(value, str | int | float) else f"bench-{name.lower()}"
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def cold_imports(
    runs: int, *, build_dir: Path = BUILD_DIR, strip_bytecode: bool = False
) -> dict[str, tuple[float, float]]:
    """Each function's cold import (median, min) in ms. The machine's noise moves the median by
    tens of ms between runs; the min is the import's own work with the least interference."""
    if why := build_is_stale(build_dir):
        raise SystemExit(f"bench_start_handler: {why}; run `make build` first")
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        if strip_bytecode:
            build_dir = Path(
                shutil.copytree(build_dir, Path(tmp) / "build", ignore=shutil.ignore_patterns("__pycache__"))
            )
        model = template_model()
        parameters = model.parameter_defaults()
        globals_tracing = model.raw.get("Globals", {}).get("Function", {}).get("Tracing")
        layer = build_dir / LAYER_ID / "python"
        jobs = []
        for function in sorted(model.functions(), key=lambda f: f.code_dir.name):
            code_dir = build_dir / function.logical_id
            props = model.resources[function.logical_id]["Properties"]
            tracing = props.get("Tracing", globals_tracing) == "Active"
            jobs.append(
                (
                    function.code_dir.name,
                    code_dir,
                    _lambda_environment(function, code_dir, tracing, parameters),
                )
            )
        samples: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
        for _ in range(runs):
            for name, code_dir, env in jobs:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-S",
                        "-c",
                        COLD_SNIPPET,
                        str(code_dir / "app.py"),
                        str(code_dir),
                        str(layer),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=code_dir,
                    check=False,
                )
                if done.returncode:
                    raise SystemExit(f"bench_start_handler: importing {name} failed:\n{done.stderr}")
                samples[name].append(float(done.stdout.strip().splitlines()[-1]))
    return {name: (statistics.median(xs), min(xs)) for name, xs in samples.items()}


def warm_start(requests: int) -> list[float]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import boto3
    from jira_onboarding.logic.connection.register import register_connection
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
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument(
        "--strip-bytecode",
        action="store_true",
        help="measure cold imports on a copy of the build without __pycache__",
    )
    args = parser.parse_args()
    cold = cold_imports(args.cold_runs, strip_bytecode=args.strip_bytecode)
    warm = sorted(warm_start(args.requests))
    p50 = statistics.median(warm)
    p99 = warm[min(len(warm) - 1, int(len(warm) * 0.99))]
    rows = [
        ("1. start handler warm p50", f"{p50:.1f} ms", "", ""),
        ("1. start handler warm p99", f"{p99:.1f} ms", "<= 50 ms", verdict(p99 <= 50)),
    ]
    for name, (ms, fastest) in cold.items():
        rows.append(
            (f"1. cold import {name}", f"{ms:.0f} ms (min {fastest:.0f})", "<= 500 ms", verdict(ms <= 500))
        )
    print(
        fmt_table(
            rows,
            f"bench_start_handler: {len(warm)} warm requests, cold import median of {args.cold_runs}"
            f" ({'built artifacts without bytecode' if args.strip_bytecode else 'built artifacts'})",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
