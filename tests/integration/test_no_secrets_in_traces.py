"""No secret, token or webhook URL reaches a trace or a log.

Tracing is Active in template.yaml, and Powertools' Tracer records a handler's answer (and its
exception) as X-Ray metadata unless told otherwise: the answer of `POST /jira/connection` holds the
admin webhook's secret and URL, and one was found in a trace. template.yaml's Globals turn both off
(POWERTOOLS_TRACER_CAPTURE_RESPONSE / _CAPTURE_ERROR), the local stack exports them as Lambda would,
and this test runs the functions that handle a connection with the tracer's provider swapped for a
real X-Ray SDK recorder whose emitter keeps what the X-Ray daemon would be sent. Every log record
of the same run is kept too. Neither may hold a credential, the webhook secret, a delivery's JWT or
the webhook URL (its connection id).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jira_onboarding.dal.live import LiveStore
from jira_onboarding.logic.live.registration import DYNAMIC_EVENTS
from jira_onboarding.observability import logger, tracer

from local_harness.live_demo import send_to_stack
from local_harness.template import load_template
from tests.conftest import SIM_EMAIL, SIM_TOKEN
from tests.infrastructure.support import REPO_ROOT
from tests.integration.live_support import LiveWorld, connect_oauth_team, live_world

SECOND_TEAM = "team-second"
OAUTH_TEAM = "team-oauth-traced"
CANARY = "canary-answer-captured-7d2f"


class CapturingEmitter:
    """The X-Ray SDK's emitter, keeping each entity as it would go to the daemon (serialized)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass


@contextmanager
def xray_capture() -> Iterator[list[str]]:
    """Every handler traced by a real X-Ray recorder, streaming each closed subsegment (as
    Powertools configures it in Lambda) to a capturing emitter; one segment per thread stands in
    for Lambda's facade segment. Yields the serialized entities, completed on exit."""
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core.context import Context
    from aws_xray_sdk.core.models.segment import Segment
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    class SegmentPerThread(Context):
        def __init__(self) -> None:
            super().__init__(context_missing="LOG_ERROR")
            self.segments: list[Segment] = []

        def handle_context_missing(self) -> Segment:
            segment = Segment(name="jira-onboarding")
            self.put_segment(segment)
            self.segments.append(segment)
            return segment

    emitter, context = CapturingEmitter(), SegmentPerThread()
    recorder = AWSXRayRecorder()
    recorder.configure(sampling=False, context=context, emitter=emitter, streaming_threshold=0, plugins=())
    enabled, provider = global_sdk_config.sdk_enabled(), tracer.provider
    global_sdk_config.set_sdk_enabled(True)
    tracer.provider = recorder  # the decorated handlers read it at each call
    out: list[str] = []
    try:
        yield out
    finally:
        tracer.provider = provider
        global_sdk_config.set_sdk_enabled(enabled)
        out.extend(emitter.sent + [segment.serialize() for segment in context.segments])


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def log_capture() -> Iterator[list[str]]:
    """Every record of the service's logger formatted as it is in CloudWatch (Powertools' JSON, its
    extra keys included), and every other logger's record (boto, httpx, ...) with its arguments."""
    service, root = _Records(), _Records()
    service.setFormatter(logger.registered_formatter)
    root.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger._logger.addHandler(service)  # type: ignore[attr-defined]
    logging.getLogger().addHandler(root)
    try:
        yield service.lines
    finally:
        logger._logger.removeHandler(service)  # type: ignore[attr-defined]
        logging.getLogger().removeHandler(root)
        service.lines.extend(root.lines)


def _connect_second_team(world: LiveWorld, jira_url: str) -> dict[str, Any]:
    """`POST /jira/connection` (the answer holding the webhook secret and URL), twice."""
    body = {"site_url": jira_url, "auth_kind": "api_token", "email": SIM_EMAIL, "api_token": SIM_TOKEN}
    for _ in range(2):
        status, _, answer = world.stack.http("POST", "/jira/connection", team_id=SECOND_TEAM, body=body)
        assert status == 201, answer
    assert answer["live_updates"]["secret"], "the answer does hold the secret"
    return answer


def _run_connection_handlers(world: LiveWorld, jira_url: str, jwts: list[str]) -> list[str]:
    """Every function that handles a connection's credentials or webhook runs; returns what must
    appear in no trace and no log."""
    answer = _connect_second_team(world, jira_url)
    setup = answer["live_updates"]
    assert world.stack.http("GET", "/jira/projects", team_id=SECOND_TEAM)[0] == 200
    hooks = world.hooks
    hooks.register(setup["webhook_url"], setup["events"], setup["jql"], kind="admin", secret=setup["secret"])
    oauth = connect_oauth_team(OAUTH_TEAM, jira_url, hooks.oauth_client_secret)
    dynamic = hooks.register(oauth.webhook_url, DYNAMIC_EVENTS, "project in (ALPHA)", kind="dynamic")
    LiveStore(OAUTH_TEAM).record_registration([dynamic.id], "project in (ALPHA)", None)
    to_stack = send_to_stack(world.stack)

    def sender(url: str, headers: dict[str, str], body: bytes) -> int:
        if "Authorization" in headers:
            jwts.append(headers["Authorization"].split(" ", 1)[1])
        return int(to_stack(url, headers, body))

    hooks.sender = sender
    hooks.publish(world.control.edit_issue("ALPHA-3", summary="traced live"))
    world.deliver()
    assert {status for _, status in hooks.sent} == {202}, hooks.sent
    assert jwts, "a JWT-signed delivery was received"
    for function, event in (
        ("RefreshJiraWebhooksFunction", {}),
        ("MigrateConnectionsFunction", {"cursor": None}),
    ):
        result, error = world.stack.invoke(world.stack.resolver.physical[function], event)
        assert error is None, result
    secrets = [SIM_TOKEN, setup["secret"], world.setup.secret or "", hooks.oauth_client_secret]
    secrets += ["demo-oauth-token", "demo-refresh-token", *jwts]
    urls = [setup["webhook_url"], world.setup.webhook_url, oauth.webhook_url]
    return secrets + urls + [url.rsplit("/", 1)[1] for url in urls]


def test_no_secret_token_or_webhook_url_reaches_a_trace_or_a_log():
    jwts: list[str] = []
    with xray_capture() as traces, log_capture() as logs, live_world() as world:
        jira_url = world.simulator.served_url  # type: ignore[attr-defined]
        forbidden = _run_connection_handlers(world, jira_url, jwts)
        # the capture sees metadata: an answer recorded as Powertools does by default would be found
        canary = tracer.capture_lambda_handler(
            lambda event, context: {"secret": CANARY}, capture_response=True
        )
        canary({}, None)
    handlers = sum(trace.count('"name": "## lambda_handler"') for trace in traces)
    assert handlers >= 10, f"the handlers were traced ({handlers} handler subsegments)"
    assert any(CANARY in trace for trace in traces), "a captured answer would be seen"
    assert len(logs) > 20, "the run's log records were captured"
    for value in filter(None, forbidden):
        assert not [t for t in traces if value in t], f"in a trace: {value[:12]}..."
        assert not [line for line in logs if value in line], f"in a log: {value[:12]}..."


def test_template_turns_off_the_tracer_s_answer_and_error_capture_for_every_function():
    template = load_template(REPO_ROOT / "template.yaml")
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    for name, resource in template["Resources"].items():
        own = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        assert not {k for k in own if k.startswith("POWERTOOLS_TRACER_CAPTURE")}, f"{name} turns it back on"
    for app in (REPO_ROOT / "functions").glob("*/app.py"):
        assert "capture_response=True" not in app.read_text(), app
        assert "capture_error=True" not in app.read_text(), app
