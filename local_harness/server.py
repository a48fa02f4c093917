"""`jira-onboarding serve`: the HTTP API and the onboarding page on localhost, over the local stack.

The server plays API Gateway's part, as `sam local start-api` would without Docker: it verifies the
caller's JWT the way the HTTP API's JWT authorizer does (HS256 with a secret made at start, instead of
the identity provider's keys), and sends the real handler of the matching route an API Gateway v2
event through `LocalStack.http`, carrying the verified team claim. It also serves the page from
`web/` and Alpine.js from `node_modules` (no CDN). The page lists the site's projects through the
API's own `GET /jira/projects`, as deployed: the server adds no route of its own.

Over the simulator, live updates are on for every team: each team's connection hands over an admin
webhook (URL, secret, events), which is registered in the simulator as a Jira admin would, and the
simulator's deliveries go to the stack's receiver. A change made through the simulator's control
API (`PUT <simulator>/_sim/control/issues/<key>`, printed at start) then shows on the page.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import mimetypes
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jira_onboarding.jira.client import JiraCredentials
from jira_onboarding.records import TeamMember

from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL
from local_harness.api_events import match_route
from local_harness.oauth_connect import connect_through_app
from local_harness.runner import RunnerError, check_credentials, connect_team
from local_harness.stack import LocalStack
from local_harness.template import REPO_ROOT

WEB_DIR = REPO_ROOT / "web"
ALPINE_JS = REPO_ROOT / "node_modules" / "alpinejs" / "dist" / "cdn.min.js"
DEV_TEAM = "demo-team"
SIM_EMAIL, SIM_TOKEN = DEMO_EMAIL, DEMO_API_TOKEN
TOKEN_TTL_S = 12 * 3600
# API Gateway refuses payloads over 10 MB before any function runs.
MAX_REQUEST_BYTES = 10 * 1024 * 1024

Answer = tuple[int, dict[str, str], bytes]


# ---------------------------------------------------------------------------------------- JWT
class TokenError(Exception):
    """The bearer token is missing, malformed, badly signed, expired or not meant for this API."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise TokenError("the token is not base64url") from exc


def issue_token(
    secret: bytes, *, issuer: str, audience: str, claims: dict[str, Any], ttl_s: int = TOKEN_TTL_S
) -> str:
    """An HS256 JWT for local development (the deployed API trusts the identity provider's tokens)."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl_s, **claims}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def verify_token(
    token: str, secret: bytes, *, issuer: str, audience: str, now: float | None = None
) -> dict[str, Any]:
    """The token's claims, if API Gateway's JWT authorizer would accept it; else TokenError.

    As the authorizer does: the signature must verify, `exp` must be in the future, `nbf` (if any)
    in the past, `iss` must equal the issuer and `aud` (a string or a list) must name the audience.
    Only HS256 is accepted: never `none`, never an algorithm the token chooses for itself.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise TokenError("the token is not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except ValueError as exc:
        raise TokenError("the token is not a JWT") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("the token is not signed with HS256")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
        raise TokenError("the token signature does not verify")
    if not isinstance(claims, dict):
        raise TokenError("the token has no claims")
    now = time.time() if now is None else now
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        raise TokenError("the token has expired")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now):
        raise TokenError("the token is not valid yet")
    if claims.get("iss") != issuer:
        raise TokenError("the token is from another issuer")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise TokenError("the token is for another audience")
    return claims


def bearer_token(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


# ------------------------------------------------------------------------------------- server
def _json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@dataclass
class Authorizer:
    """API Gateway's JWT authorizer, with the issuer and audience the template gives it."""

    secret: bytes
    issuer: str
    audience: str

    def claims(self, headers: dict[str, str]) -> dict[str, Any]:
        token = bearer_token(headers)
        if token is None:
            raise TokenError("no bearer token")
        return verify_token(token, self.secret, issuer=self.issuer, audience=self.audience)

    def token(self, claims: dict[str, Any], ttl_s: int = TOKEN_TTL_S) -> str:
        return issue_token(
            self.secret, issuer=self.issuer, audience=self.audience, claims=claims, ttl_s=ttl_s
        )


SECOND_SITE_ID = "7c2e9a41-3b5d-4f60-8e1a-2d4c6b8a0f13"  # serve --second-site


def cors_headers(stack: LocalStack, origin: str | None) -> dict[str, str]:
    """The CORS headers API Gateway adds for `origin` under template.yaml's CorsConfiguration
    (its AllowOrigins from the AllowedOrigins parameter); none for an origin not allowed."""
    allowed = [o.strip() for o in str(stack.parameters.get("AllowedOrigins") or "").split(",") if o.strip()]
    if not origin or not (origin in allowed or "*" in allowed):
        return {}
    api = stack.model.resources["OnboardingHttpApi"]["Properties"]
    config = (api.get("CorsConfiguration") or {}).get("Fn::If", [None, {}])[1]
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-headers": ",".join(config.get("AllowHeaders", [])),
        "access-control-allow-methods": ",".join(config.get("AllowMethods", [])),
        "access-control-max-age": str(config.get("MaxAge", 0)),
        "vary": "Origin",
    }


class DevServer:
    """The API and the page over one LocalStack; `dispatch` needs no socket."""

    def __init__(
        self,
        stack: LocalStack,
        *,
        authorizer: Authorizer,
        web_dir: Path = WEB_DIR,
        alpine_js: Path = ALPINE_JS,
    ) -> None:
        self.stack = stack
        self.authorizer = authorizer
        self.web_dir = web_dir.resolve()
        self.alpine_js = alpine_js
        self.team_claim = str(stack.parameters.get("TeamClaim", "team_id"))
        # One Lambda instance answers one request at a time, and the Powertools resolver keeps the
        # current event on itself: concurrent page requests must not share it.
        self.api_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- routing -------------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        headers = {k.lower(): v for k, v in headers.items()}
        cors = cors_headers(self.stack, headers.get("origin"))
        if method.upper() == "OPTIONS" and headers.get("access-control-request-method"):
            # A preflight: API Gateway answers it itself, before the authorizer (204, or 404 bare).
            return (204, cors, b"") if cors else (404, {}, b"")
        status, out, payload = self._route(method, target, headers, body)
        return status, {**out, **cors}, payload

    def _route(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        url = urlsplit(target)
        path = url.path or "/"
        spec, route, _ = match_route(self.stack.functions.values(), method, path)
        if spec is not None:
            public = (method.upper(), route) in spec.public_routes
            return self._api(method, path, url.query, headers, body, public=public)
        if method in {"GET", "HEAD"}:
            return self._static(path)
        return _json_answer(404, {"message": "Not Found"})

    def _unauthorized(self, reason: str) -> Answer:
        # What the HTTP API answers when its JWT authorizer refuses the request.
        challenge = f'Bearer error="invalid_token" error_description="{reason}"'
        return _json_answer(401, {"message": "Unauthorized"}, {"www-authenticate": challenge})

    def _api(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, *, public: bool
    ) -> Answer:
        try:
            claims = {} if public else self.authorizer.claims(headers)
        except TokenError as exc:
            return self._unauthorized(str(exc))
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            # Payload 2.0 joins repeated query parameters with commas.
            params[key] = f"{params[key]},{value}" if key in params else value
        team = claims.get(self.team_claim)
        with self.api_lock:
            status, answer_headers, answer = self.stack.http(
                method,
                path,
                team_id=str(team) if team else None,
                raw_body=body.decode("utf-8", errors="replace") if body else None,
                query=params or None,
                headers={k: v for k, v in headers.items() if k not in {"content-length", "host"}},
            )
        payload = b"" if answer is None or answer == "" else json.dumps(answer).encode()
        out = {k.lower(): v for k, v in answer_headers.items()}
        out.setdefault("content-type", "application/json")
        return status, out, payload

    def _static(self, path: str) -> Answer:
        if path == "/vendor/alpine.js":
            file = self.alpine_js
        else:
            relative = "index.html" if path in {"", "/"} else path.lstrip("/")
            file = (self.web_dir / relative).resolve()
            if not file.is_relative_to(self.web_dir):
                return _json_answer(404, {"message": "Not Found"})
        if not file.is_file():
            hint = " (run `npm ci` for Alpine.js)" if path == "/vendor/alpine.js" else ""
            return 404, {"content-type": "text/plain; charset=utf-8"}, f"Not Found{hint}\n".encode()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in {"application/javascript", "text/javascript"}:
            kind += "; charset=utf-8"
        return 200, {"content-type": kind, "cache-control": "no-store"}, file.read_bytes()

    # ---- socket ----------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen in a daemon thread; returns the base URL."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "jira-onboarding-local"
            disable_nagle_algorithm = True  # no ~40 ms stall between headers and body (see jira_simulator)

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_REQUEST_BYTES:
                    answer = _json_answer(413, {"message": "Request Entity Too Large"})
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    try:
                        answer = server.dispatch(self.command, self.path, dict(self.headers.items()), body)
                    except Exception:
                        answer = _json_answer(500, {"message": "Internal Server Error"})
                status, headers, payload = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                self._handle()

            def do_HEAD(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_PUT(self) -> None:
                self._handle()

            def do_PATCH(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def do_OPTIONS(self) -> None:
                self._handle()

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, PROPFIND...) gets API Gateway's "no such route", not a 501.
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the page polls: an access line per poll would drown the printed token

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return f"http://{host}:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# ---------------------------------------------------------------------------------------- CLI
def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument(
        "--team",
        action="append",
        metavar="TEAM",
        help=f"the dev team, the token's team claim (default {DEV_TEAM}); repeat for more teams, "
        "each with its own page link",
    )
    parser.add_argument("--seed", type=int, default=1, help="the simulator's workspace seed")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="slow every simulator answer (to watch progress)"
    )
    parser.add_argument(
        "--fail-project",
        action="append",
        default=[],
        metavar="KEY",
        help="the simulator refuses this project (403), so its sync FAILs; repeat",
    )
    parser.add_argument("--page-size", type=int, help="issues per Jira search page (JIRA_PAGE_SIZE)")
    parser.add_argument("--token-ttl", type=int, default=TOKEN_TTL_S, help="dev token lifetime, seconds")
    parser.add_argument(
        "--connected",
        action="store_true",
        help="connect every team ahead through the OAuth app (the simulator's consent, Accept pressed "
        "headlessly); without it the page's Connect Jira button does it",
    )
    parser.add_argument(
        "--second-site",
        action="store_true",
        help="the simulated Atlassian account reaches a second Jira site (the page asks which one)",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a page on this origin may call the API (the template's AllowedOrigins: CORS); repeat",
    )
    parser.add_argument("--jira-url", help="use this Jira Cloud site instead of the simulator")
    parser.add_argument("--email", help="Atlassian account email (with --jira-url)")
    parser.add_argument("--api-token", help="Atlassian API token (with --jira-url)")
    parser.add_argument("--members", metavar="FILE", help="JSON list of team members to match")


@contextmanager
def _jira(
    args: argparse.Namespace,
) -> Iterator[tuple[JiraCredentials | None, list[dict], str, str, Any]]:
    """(credentials, members, description, Jira's URL, the simulator or None) of the simulator (no
    credentials: teams connect through the OAuth app) or a real Jira (a person's own API token)."""
    if args.jira_url:
        if not (args.email and args.api_token):
            raise RunnerError("give --email and --api-token with --jira-url")
        credentials = JiraCredentials(
            base_url=args.jira_url, auth_kind="api_token", email=args.email, api_token=args.api_token
        )
        who = check_credentials(credentials)
        yield credentials, [], f"{args.jira_url} as {who}", args.jira_url, None
        return
    from jira_simulator import Fault, FaultPlan, JiraSimulator, Match, build_workspace

    workspace = build_workspace(seed=args.seed)
    faults = FaultPlan.script(
        (
            Match(project=key.upper()),
            Fault.status(403, message="You do not have permission to view this project."),
        )
        for key in args.fail_project
    )
    simulator = JiraSimulator(
        workspace, email=SIM_EMAIL, api_token=SIM_TOKEN, faults=faults, latency_s=args.latency_ms / 1000
    )
    if args.second_site:
        from jira_simulator import SimSite

        simulator.app.sites.append(
            SimSite(SECOND_SITE_ID, "acme-labs-sim", "https://acme-labs-sim.atlassian.net")
        )
    with simulator.serve() as base_url:
        # A customer connects through the product's OAuth app (the page's Connect Jira): no token.
        extra = f", latency {args.latency_ms:g} ms" if args.latency_ms else ""
        if args.fail_project:
            extra += f", refusing {', '.join(k.upper() for k in args.fail_project)}"
        yield (
            None,
            workspace.team_members,
            f"simulator at {base_url} (seed {args.seed}{extra})",
            base_url,
            simulator,
        )


def _start_live_updates(server: DevServer, simulator: Any, teams: list[str]) -> threading.Event:
    """Live updates for every team over the simulator: each connection is the OAuth app's, whose
    selection registers a dynamic webhook through Jira's API; the simulator's deliveries go to the
    stack's receiver. Returns the event that stops the simulator's delivery thread."""
    from jira_simulator.live import live_parts
    from local_harness.live_demo import send_to_stack

    hooks, _ = live_parts(simulator)
    to_stack = send_to_stack(server.stack)

    def sender(url: str, headers: dict[str, str], body: bytes) -> int:
        with server.api_lock:  # the page's requests and the deliveries take turns, as for the API
            return int(to_stack(url, headers, body))

    hooks.sender = sender  # the selections register the dynamic webhooks (OAuth connections)
    return hooks.start()


def _serve_parameters(args: argparse.Namespace) -> dict[str, str]:
    parameters = {"AllowedOrigins": ",".join(args.allowed_origin)} if args.allowed_origin else {}
    if args.jira_url:  # your own site with your own API token: the self-hosted opt-in
        parameters["AllowApiTokenConnections"] = "true"
    return parameters


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or SIGTERM); prints the page URL with a development token."""
    from local_harness.cli import _log_file

    if args.page_size:
        os.environ["JIRA_PAGE_SIZE"] = str(args.page_size)
    members_raw: list[dict] | None = None
    if args.members:
        members_raw = json.loads(Path(args.members).read_text(encoding="utf-8"))
    log_path = _log_file("serve")
    stop = threading.Event()

    def _terminate(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _terminate)
    with (
        _jira(args) as (credentials, sim_members, jira_text, jira_url, simulator),
        log_path.open("a", encoding="utf-8") as logs,
        LocalStack(log_stream=logs, parameters=_serve_parameters(args)) as stack,
    ):
        teams = list(dict.fromkeys(args.team or [DEV_TEAM]))
        for team in teams:
            members = [TeamMember(team_id=team, **m) for m in (members_raw or sim_members)]
            connect_team(team, credentials, members)
        authorizer = Authorizer(
            secret=secrets.token_bytes(32),
            issuer=str(stack.parameters["JwtIssuer"]),
            audience=str(stack.parameters["JwtAudience"]),
        )
        claim = str(stack.parameters.get("TeamClaim", "team_id"))
        tokens = {team: authorizer.token({claim: team}, args.token_ttl) for team in teams}
        token = tokens[teams[0]]
        server = DevServer(stack, authorizer=authorizer)
        base_url = server.start(args.host, args.port)
        if simulator is not None:
            # Atlassian's side is the simulator's; the callback comes back to this server.
            stack.use_atlassian(jira_url, simulator.app, public_base_url=base_url)
            if args.connected:
                for team in teams:
                    connect_through_app(stack, team, site_name="acme-sim")
        stop_live = _start_live_updates(server, simulator, teams) if simulator is not None else None
        live_text = (
            f"on: change an issue with PUT {jira_url.rstrip('/')}/_sim/control/issues/<KEY> "
            '{"summary": "..."} (basic auth as the simulator\'s user) and watch the page'
            if stop_live is not None
            else "off (a real Jira: register the webhook the connection hands over)"
        )
        connect_text = (
            "connected ahead through the OAuth app"
            if args.connected or simulator is None
            else "press Connect Jira on the page (the simulator's consent page, then back)"
        )
        if not ALPINE_JS.is_file():
            print("  warning: node_modules/alpinejs is missing; run `npm ci`", file=sys.stderr)
        print(
            "\n".join(
                [
                    "Jira onboarding, served locally (API Gateway + Lambda + Step Functions on moto)",
                    f"  page          {base_url}/#token={token}",
                    f"  API           {base_url}/jira/onboarding",
                    f"  team          {teams[0]}",
                    f"  token         {token}",
                    f"                (HS256, iss {authorizer.issuer}, aud {authorizer.audience}, "
                    f"{args.token_ttl // 60} min; send it as Authorization: Bearer ...)",
                    f"  Jira          {jira_text}",
                    f"  connect       {connect_text}",
                    f"  function logs {log_path}",
                    f"  live updates  {live_text}",
                    *(f"  page for {team}  {base_url}/#token={tokens[team]}" for team in teams[1:]),
                    "Press Ctrl-C to stop.",
                ]
            ),
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if stop_live is not None:
                stop_live.set()
            server.stop()
            print("stopping: waiting for running syncs (up to 30 s)", file=sys.stderr, flush=True)
    return 0
