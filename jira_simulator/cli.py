"""``python -m jira_simulator``: serve a seeded simulated Jira site until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL

from .server import JiraSimulator
from .workspace import build_workspace


def build_parser(prog: str = "python -m jira_simulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Serve a local simulated Jira Cloud site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", choices=["demo", "large"], default="demo")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--burst", type=float, default=0.0, help="requests/second before 429 (0 = unlimited)")
    parser.add_argument("--email", default=DEMO_EMAIL)
    parser.add_argument("--api-token", default=DEMO_API_TOKEN)
    parser.add_argument("--bearer-token", default="demo-oauth-token")
    parser.add_argument("--tls", action="store_true", help="serve https with a self-signed certificate")
    return parser


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Run the simulator; returns when ``stop`` is set or on Ctrl-C."""
    args = build_parser().parse_args(argv)
    ws = build_workspace(seed=args.seed, size=args.size)
    sim = JiraSimulator(
        ws,
        email=args.email,
        api_token=args.api_token,
        bearer_tokens={args.bearer_token},
        latency_s=args.latency_ms / 1000.0,
        burst_per_second=args.burst or None,
    )
    stop = stop or threading.Event()
    with sim.serve(args.host, args.port, tls=args.tls) as base_url:
        lines = [
            f"Jira simulator listening on {base_url}",
            f"  Basic auth: {args.email} / {args.api_token}",
            f"  Bearer token: {args.bearer_token}",
            f"  OAuth app: {sim.app.client_id} / {sim.app.client_secret}, consent at {base_url}/authorize",
            "  Sites: " + ", ".join(f"{s.name} (cloud id {s.cloud_id})" for s in sim.app.sites),
            "  Projects: " + ", ".join(f"{p.key} ({ws.issue_count(p.key)} issues)" for p in ws.projects),
        ]
        if sim.tls_cert_path:
            lines.append(f"  TLS certificate: {sim.tls_cert_path}")
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0
