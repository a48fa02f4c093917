"""`jira-onboarding`: run the pipeline locally against the simulator (`demo`) or a real Jira (`sync`)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from jira_onboarding.jira.client import JiraCredentials
from jira_onboarding.records import TeamMember

from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL
from local_harness.oauth_connect import connect_through_app
from local_harness.runner import (
    ProgressPrinter,
    RunnerError,
    check_credentials,
    dump_items,
    print_summary,
    run_pipeline,
)
from local_harness.server import add_serve_arguments, cmd_serve
from local_harness.stack import LocalStack

DEMO_TEAM = "demo-team"
SIM_EMAIL, SIM_TOKEN = DEMO_EMAIL, DEMO_API_TOKEN


TOKEN_ENV = "JIRA_API_TOKEN"  # noqa: S105 - the variable's name, not a token
TIMED_OUT_EXIT = 3


def _log_file(name: str) -> Path:
    """A new file per run (never an earlier run's, which stays readable), in one folder."""
    folder = Path(tempfile.gettempdir()) / "jira-onboarding-logs"
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for attempt in range(1000):
        path = folder / f"{name}-{stamp}-{os.getpid()}{f'-{attempt}' if attempt else ''}.log.jsonl"
        try:
            path.touch(exist_ok=False)
        except FileExistsError:
            continue
        return path
    raise RunnerError(f"cannot create a log file in {folder}")


def _api_token(args: argparse.Namespace) -> str | None:
    """--api-token shows in `ps`: JIRA_API_TOKEN or a prompt keep the token off the command line."""
    if args.api_token or args.bearer_token or not args.email:
        return args.api_token
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    if sys.stdin.isatty():
        return getpass.getpass(f"Atlassian API token for {args.email}: ") or None
    return None


def _finish(
    summary, args: argparse.Namespace, team_id: str, log_path: Path, extra: dict | None = None
) -> int:
    if args.dump:
        count = dump_items(team_id, Path(args.dump))
        if not args.json:
            print(f"\n  {count} stored items written to {args.dump}")
    if args.json:
        print(json.dumps({**summary.as_json(), **(extra or {})}, indent=2))
    else:
        print_summary(summary)
        print(f"\n  function logs: {log_path}")
    if summary.timed_out:
        return 1
    return 0 if all(p.status in {"COMPLETE"} for p in summary.projects) or args.allow_failures else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from jira_simulator import JiraSimulator, build_workspace

    workspace = build_workspace(seed=args.seed)
    # The simulator's world (issues, sprints, PRs) ends at its fixed base date, not today: a
    # window wide enough to reach back over it keeps the PR linkage meaningful whatever the date.
    os.environ.setdefault("METRICS_WINDOW_DAYS", "120")
    simulator = JiraSimulator(workspace, email=SIM_EMAIL, api_token=SIM_TOKEN)
    keys = [p.key for p in workspace.projects]
    log_path = _log_file("demo")
    with (
        simulator.serve() as base_url,
        log_path.open("a", encoding="utf-8") as logs,
        LocalStack(log_stream=logs) as stack,
    ):
        if not args.json:
            print(f"Jira simulator at {base_url} (seed {args.seed}); local AWS on moto from template.yaml")
        # As a customer connects: through the product's one OAuth app, Atlassian's consent page
        # played by the simulator (Accept pressed headlessly), no API token anywhere.
        stack.use_atlassian(base_url, simulator.app)
        connected = connect_through_app(stack, DEMO_TEAM)
        if not args.json:
            print(
                f"Connected Jira through the app's OAuth 2.0 consent: {connected.site_name} "
                f"({connected.site_url}) as {connected.jira_account}"
            )
            print(f"Selecting projects {', '.join(keys)} through the start handler...\n")
        credentials = None
        members = [TeamMember(team_id=DEMO_TEAM, **m) for m in workspace.team_members]
        summary = run_pipeline(
            stack,
            team_id=DEMO_TEAM,
            credentials=credentials,
            project_keys=keys,
            members=members,
            progress=None if args.json else ProgressPrinter(sys.stdout),
            ground_truth=workspace.issue_count,
            pull_requests=workspace.pull_requests,
        )
        from local_harness.live_demo import print_live, run_live_change

        live = run_live_change(stack, simulator, DEMO_TEAM, f"{keys[0]}-1", dynamic=True)
        finished = _finish(
            summary,
            args,
            DEMO_TEAM,
            log_path,
            extra={
                "simulator": {"base_url": base_url, "seed": args.seed, "calls": len(simulator.request_log)},
                "connection": {"auth": "oauth_app", "site": connected.site_url},
                "live": live,
            },
        )
        if not args.json:
            print_live(live, sys.stdout)
        return finished


def _stop_at_timeout(timeout_s: float, log_path: Path | None) -> None:
    where = f"; function logs: {log_path}" if log_path else ""
    print(
        f"jira-onboarding: the run did not finish within {timeout_s:g} s; stopped "
        f"(what was stored so far is in local AWS only{where})",
        file=sys.stderr,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # The execution still runs in moto's threads, which nothing can cancel and the interpreter
    # would wait for at exit (and a hung Jira call can hold any step): end the process at T.
    os._exit(TIMED_OUT_EXIT)


def cmd_sync(args: argparse.Namespace) -> int:
    started = time.monotonic()
    args.api_token = _api_token(args)
    log_path: list[Path] = []
    # --timeout counts from the command's start (set-up included, the token prompt not); the
    # watchdog holds it even if a call never returns, the poll loop ends cleanly just before it.
    watchdog = threading.Timer(
        max(0.0, args.timeout - (time.monotonic() - started)),
        lambda: _stop_at_timeout(args.timeout, next(iter(log_path), None)),
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        return _sync(args, started, log_path)
    finally:
        watchdog.cancel()


def site_url_of(given: str) -> str:
    """`--jira-url` as the site's origin, or a RunnerError saying in one line what is wrong with it
    (the same rules as the API's, jira_sites.py; a bare host gets https://, and the simulator on
    loopback is allowed: this runs on the person's own machine)."""
    from jira_onboarding.jira_sites import JiraSiteError, jira_site_origin

    text = given.strip()
    if text and "://" not in text:
        text = f"https://{text}"
    try:
        return jira_site_origin(text.rstrip("/"), allow_local=True)
    except JiraSiteError as exc:
        raise RunnerError(f"--jira-url {given!r}: the site URL {exc}") from None


def _sync(args: argparse.Namespace, started: float, log_path: list[Path]) -> int:
    args.jira_url = site_url_of(args.jira_url)
    credentials = (
        JiraCredentials(base_url=args.jira_url, auth_kind="bearer", access_token=args.bearer_token)
        if args.bearer_token
        else JiraCredentials(
            base_url=args.jira_url, auth_kind="api_token", email=args.email, api_token=args.api_token
        )
    )
    if not args.bearer_token and not (args.email and args.api_token):
        raise RunnerError(
            f"give --email and an API token ({TOKEN_ENV} in the environment, the prompt, or --api-token), "
            "or --bearer-token, for the Jira site"
        )
    who = check_credentials(credentials)
    members: list[TeamMember] = []
    if args.members:
        raw = json.loads(Path(args.members).read_text(encoding="utf-8"))
        members = [TeamMember(team_id=args.team, **m) for m in raw]
    log_path.append(_log_file("sync"))
    with log_path[0].open("a", encoding="utf-8") as logs, LocalStack(log_stream=logs) as stack:
        if not args.json:
            keys = ", ".join(args.project)
            print(f"Connected to {args.jira_url} as {who}; syncing {keys} into local AWS (moto)\n")
        summary = run_pipeline(
            stack,
            team_id=args.team,
            credentials=credentials,
            project_keys=args.project,
            members=members,
            progress=None if args.json else ProgressPrinter(sys.stdout),
            timeout_s=max(0.0, args.timeout - 1.0 - (time.monotonic() - started)),
        )
        if summary.timed_out:
            logs.flush()
            _stop_at_timeout(args.timeout, log_path[0])
        return _finish(summary, args, args.team, log_path[0])


def cmd_simulate_jira(args: argparse.Namespace) -> int:
    from jira_simulator.__main__ import main as simulator_main

    argv = ["--port", str(args.port), "--seed", str(args.seed), "--size", args.size]
    if args.latency_ms:
        argv += ["--latency-ms", str(args.latency_ms)]
    return int(simulator_main(argv) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jira-onboarding", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def outputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print a machine-readable summary instead")
        p.add_argument("--dump", metavar="FILE", help="write every stored item as JSON lines")
        p.add_argument("--allow-failures", action="store_true", help="exit 0 even if a project FAILED")

    demo = sub.add_parser("demo", help="run the whole pipeline on local AWS against the Jira simulator")
    demo.add_argument("--seed", type=int, default=1)
    outputs(demo)
    demo.set_defaults(func=cmd_demo)

    sync = sub.add_parser("sync", help="run the pipeline against a Jira Cloud site (or the simulator)")
    sync.add_argument("--jira-url", required=True, help="e.g. https://your-site.atlassian.net")
    sync.add_argument("--email", help="Atlassian account email (API-token Basic auth)")
    sync.add_argument(
        "--api-token",
        help=f"Atlassian API token (visible to other local users in `ps`: prefer {TOKEN_ENV} or the prompt)",
    )
    sync.add_argument("--bearer-token", help="an OAuth 2.0 access token instead of email + API token")
    sync.add_argument(
        "--project", action="append", required=True, metavar="KEY", help="a project key; repeat"
    )
    sync.add_argument("--team", default="local-team", help="team id to store the data under")
    sync.add_argument("--members", metavar="FILE", help="JSON list of team members to match")
    sync.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help=f"seconds to wait for the run; exits {TIMED_OUT_EXIT} at it",
    )
    outputs(sync)
    sync.set_defaults(func=cmd_sync)

    sim = sub.add_parser("simulate-jira", help="serve the Jira simulator until Ctrl-C")
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--size", default="demo", choices=["demo", "large"])
    sim.add_argument("--latency-ms", type=int, default=0)
    sim.set_defaults(func=cmd_simulate_jira)

    serve = sub.add_parser("serve", help="serve the API and the onboarding page on localhost")
    add_serve_arguments(serve)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RunnerError as exc:
        print(f"jira-onboarding: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
