"""Figure 8: the same workspace ingested by a peer, singer-io's tap-jira (PyPI), pointed at the
simulator over HTTPS, beside our pipeline's figures from bench_sync.

    .venv/bin/python bench/bench_tap_jira.py [--scale 1.0] [--latency-ms 200] [--burst 10]
        [--ours bench/out/sync_full.json]

tap-jira is installed in its own virtualenv (bench/.venv-tap, gitignored) on first use. Only its
`issues` stream is selected (no comments/changelog sub-streams, which it would fetch per issue).
It speaks REST v2 and checks the site first: the simulator, run in a child process, additionally
answers `GET /rest/api/2/serverInfo` and `/rest/api/2/myself` (the v3 answers), and its v2 search
accepts tap-jira's site-wide JQL (`updated >= '...' order by updated asc`, no project clause) by
searching every project. The simulator's latency and burst limit apply to every call.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, SIM_EMAIL, SIM_TOKEN, fmt_table, scaled_size

TAP_VENV = REPO_ROOT / "bench" / ".venv-tap"


def ensure_tap() -> Path:
    exe = TAP_VENV / "bin" / "tap-jira"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TAP_VENV)], check=True)
        subprocess.run([str(TAP_VENV / "bin" / "pip"), "install", "-q", "tap-jira"], check=True)
    return exe


def _serve(conn: Any, size: Any, latency_s: float, burst: float | None) -> None:
    from jira_simulator import JiraSimulator, build_workspace
    from jira_simulator.server import _Route

    class PeerSimulator(JiraSimulator):
        def _build_routes(self) -> list[Any]:
            routes = super()._build_routes()
            return [
                _Route("GET", "/rest/api/2/serverInfo", self._server_info),
                _Route("GET", "/rest/api/2/myself", self._myself),
                *routes,
            ]

        def _render_issue(self, issue: dict, field_ids: list, include_all: bool, expand: set) -> dict:
            # tap-jira asks v2 search for expand=changelog (the v2 route here ignores expand).
            expand = set(expand) | ({"changelog"} if include_all else set())
            out = super()._render_issue(issue, field_ids, include_all, expand)
            if "fields" in out:  # tap-jira pops fields.comment from every issue
                out["fields"].setdefault(
                    "comment", {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}
                )
                out.setdefault("transitions", [])
            return out

        _combined: dict[str, Any] = {}  # one simulator per process

        def _matching(self, jql: Any) -> Any:
            if jql.projects:
                return super()._matching(jql)
            cached = self._combined.get(jql.normalized)
            if cached is not None:  # the site-wide result once per query, as the base class caches
                return cached
            issues: list[dict] = []
            keys: list[tuple] = []
            for p in self.ws.projects:
                one = type(jql)(
                    ((p.key,),), jql.conditions, jql.order_field, jql.descending, f"{jql.normalized}|{p.key}"
                )
                i, k = super()._matching(one)
                issues += i
                keys += k
            pairs = sorted(zip(keys, issues, strict=True), key=lambda kv: kv[0])
            result = ([i for _, i in pairs], [k for k, _ in pairs])
            self._combined[jql.normalized] = result
            return result

    import dataclasses

    from jira_simulator import server as sim_server

    original_parse = sim_server.parse_jql

    def parse_unbounded(jql: str) -> Any:
        # v2 search (as tap-jira uses it) accepts site-wide JQL; the v3 parser insists on a bound.
        try:
            return original_parse(jql)
        except sim_server.ApiError as exc:
            if "Unbounded" not in str(exc):
                raise
            parsed = original_parse(f'project = "{size.projects[0].key}" AND {jql}')
            return dataclasses.replace(parsed, projects=(), normalized=f"unbounded|{parsed.normalized}")

    sim_server.parse_jql = parse_unbounded
    ws = build_workspace(seed=1, size=size)
    sim = PeerSimulator(ws, email=SIM_EMAIL, api_token=SIM_TOKEN, latency_s=latency_s, burst_per_second=burst)
    with sim.serve(tls=True) as url:
        conn.send(
            {
                "url": url,
                "cert": sim.tls_cert_path,
                "issues": sum(len(ws.issues_by_project[p.key]) for p in ws.projects),
            }
        )
        conn.recv()
        conn.send([(r.endpoint, r.status) for r in sim.request_log])
        conn.recv()


def catalog(exe: Path, config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(exe), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"tap-jira --discover failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cat = json.loads(done.stdout)
    for stream in cat["streams"]:
        selected = stream["tap_stream_id"] == "issues"
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = selected
    return cat


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--burst", type=float, default=10)
    parser.add_argument("--ours", type=Path, help="bench_sync --json output to show beside")
    args = parser.parse_args()
    exe = ensure_tap()
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(
        target=_serve,
        args=(child, scaled_size(args.scale), args.latency_ms / 1000, args.burst or None),
        daemon=True,
    )
    proc.start()
    hello = conn.recv()
    work = Path(tempfile.mkdtemp(prefix="bench-tap-"))
    config = work / "config.json"
    config.write_text(
        json.dumps(
            {
                "base_url": hello["url"],
                "username": SIM_EMAIL,
                "password": SIM_TOKEN,
                "start_date": "2000-01-01T00:00:00Z",
                "user_agent": "bench",
                "request_timeout": 60,
            }
        )
    )
    # The simulator's certificate is a self-signed leaf (no CA flag), which OpenSSL 3 refuses as a
    # trust anchor even in REQUESTS_CA_BUNDLE: tap-jira's requests session skips verification
    # instead (a sitecustomize in the tap's environment only). The traffic is still HTTPS.
    shim = work / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import requests, urllib3\n"
        "urllib3.disable_warnings()\n"
        "_init = requests.Session.__init__\n"
        "def _no_verify(self, *a, **k):\n"
        "    _init(self, *a, **k)\n"
        "    self.verify = False\n"
        "requests.Session.__init__ = _no_verify\n"
    )
    os.environ["PYTHONPATH"] = str(shim)
    cat_path = work / "catalog.json"
    cat_path.write_text(json.dumps(catalog(exe, config)))
    out = work / "records.jsonl"
    t0 = time.monotonic()
    with out.open("w") as sink, (work / "stderr.log").open("w") as err:
        rc = subprocess.run(
            [str(exe), "--config", str(config), "--properties", str(cat_path)],
            stdout=sink,
            stderr=err,
            env=os.environ,
            check=False,
        ).returncode
    wall = time.monotonic() - t0
    conn.send("log")
    log = conn.recv()
    conn.send("stop")
    proc.join(timeout=10)
    records = sum(1 for line in out.open() if '"type": "RECORD"' in line or '"type":"RECORD"' in line)
    by_status = Counter(s for _, s in log)
    rows = [
        ("8. tap-jira exit code", str(rc), "0", ""),
        ("8. tap-jira issues emitted / in Jira", f"{records} / {hello['issues']}", "", ""),
        ("8. tap-jira wall time", f"{wall:.1f} s", "", ""),
        ("8. tap-jira Jira calls (429s)", f"{len(log)} ({by_status.get(429, 0)})", "", ""),
    ]
    if args.ours and args.ours.exists():
        ours = json.loads(args.ours.read_text())
        mine = ours["marks_s"]["all_complete"]
        rows += [
            ("8. ours: wall time (issues + changelogs + boards/sprints/users)", f"{mine:.1f} s", "", ""),
            ("8. ours: Jira calls (429s)", f"{ours['calls_total']} ({ours['calls_429']})", "", ""),
            (
                "8. speed-up: tap-jira wall / ours",
                f"{wall / mine:.2f}x",
                "> 1",
                "MET" if wall > mine else "NOT MET",
            ),
        ]
    print(
        fmt_table(
            rows,
            f"bench_tap_jira: tap-jira at {hello['url']} "
            f"(latency {args.latency_ms:g} ms, burst {args.burst:g}/s)",
        )
    )
    print(f"calls by endpoint: {dict(Counter(e for e, _ in log))}")
    print(f"tap stderr tail: {(work / 'stderr.log').read_text()[-600:]}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
