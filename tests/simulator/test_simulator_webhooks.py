"""The simulator's dynamic-webhook endpoints answer as platform.v3.json says; its control API
changes the workspace and sends signed deliveries, with the fault options."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from jira_simulator import JiraSimulator, build_workspace, spec
from jira_simulator.live import live_parts
from jira_simulator.webhooks import DeliveryFaults
from tests.simulator.conftest import BASIC, BEARER, make_call

REGISTRATION = {
    "url": "https://app.example.com/jira/webhooks/abc",
    "webhooks": [
        {"events": ["jira:issue_created", "jira:issue_updated"], "jqlFilter": "project in (ALPHA, BETA)"}
    ],
}


@pytest.fixture
def fresh_sim() -> JiraSimulator:
    return JiraSimulator(build_workspace(seed=2))


def test_simulator_webhook_endpoints_match_spec(fresh_sim: JiraSimulator):
    call = make_call(fresh_sim)
    cases = [
        ("POST", "/rest/api/3/webhook", REGISTRATION, 200),
        ("GET", "/rest/api/3/webhook?startAt=0&maxResults=10", None, 200),
        ("PUT", "/rest/api/3/webhook/refresh", {"webhookIds": [10001]}, 200),
        ("DELETE", "/rest/api/3/webhook", {"webhookIds": [10001]}, 202),
    ]
    for method, path, body, status in cases:
        template = spec.match_path("platform", path)
        assert spec.undocumented_request_parts(method, path, body) == []
        got, _, data = call(method, path, body, BEARER)
        assert got == status, data
        if status == 200:
            spec.validate_response("platform", method, template, status, data)
    assert fresh_sim.webhooks.dynamic() == []  # type: ignore[attr-defined]


def test_simulator_webhook_registration_is_for_apps_only_and_checks_its_details(fresh_sim: JiraSimulator):
    call = make_call(fresh_sim)
    status, _, data = call("POST", "/rest/api/3/webhook", REGISTRATION, BASIC)
    assert status == 403
    bad = {"url": "https://x", "webhooks": [{"events": ["sprint_started"], "jqlFilter": "project = ALPHA"}]}
    status, _, data = call("POST", "/rest/api/3/webhook", bad, BEARER)
    assert status == 200
    assert data["webhookRegistrationResult"][0]["errors"]


def _deliveries(sim: JiraSimulator, secret: str) -> list[tuple[dict[str, str], bytes]]:
    hooks, _ = live_parts(sim)
    sent: list[tuple[dict[str, str], bytes]] = []
    hooks.sender = lambda url, headers, body: sent.append((headers, body)) or 200
    hooks.register(
        "https://app/x",
        ["jira:issue_updated", "sprint_started"],
        "project = ALPHA",
        kind="admin",
        secret=secret,
    )
    return sent


def test_simulator_control_changes_send_signed_deliveries_for_matching_projects(fresh_sim: JiraSimulator):
    sent = _deliveries(fresh_sim, "adm1n")
    call = make_call(fresh_sim)
    assert call("PUT", "/_sim/control/issues/ALPHA-2", {"summary": "changed"})[0] == 200
    assert call("PUT", "/_sim/control/issues/BETA-2", {"summary": "changed"})[0] == 200  # not in the JQL
    assert call("POST", "/_sim/control/deliver")[2] == {"attempts": 1}
    ((headers, body),) = sent
    digest = hmac.new(b"adm1n", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha256={digest}"
    assert json.loads(body)["issue"]["fields"]["summary"] == "changed"
    assert fresh_sim.ws.get_issue("ALPHA-2")["fields"]["summary"] == "changed"  # type: ignore[index]


def test_simulator_deliveries_duplicate_reorder_drop_and_retry_as_configured(fresh_sim: JiraSimulator):
    hooks, control = live_parts(fresh_sim)
    statuses = iter([503, 200] + [200] * 100)
    seen: list[str] = []

    def sender(url: str, headers: dict[str, str], body: bytes) -> int:
        seen.append(headers["X-Atlassian-Webhook-Identifier"])
        return next(statuses)

    hooks.sender = sender
    hooks.register("https://app/x", ["jira:issue_updated"], "project = ALPHA", kind="admin", secret="s")
    hooks.faults = DeliveryFaults(duplicates_max=3, reorder=True, drop_rate=0.2, retries=3)
    for n in range(1, 21):
        hooks.publish(control.edit_issue(f"ALPHA-{n}", summary=f"s{n}"))
    hooks.flush()
    assert seen[0] == seen[1], "a 503 is retried with the same identifier"
    delivered = set(seen)
    assert len(delivered) + len(hooks.dropped) == 20
    assert len(seen) > len(delivered) + 1, "some deliveries were duplicated"


def test_simulator_sprint_start_records_its_scope_and_search_finds_sprint_members(fresh_sim: JiraSimulator):
    _, control = live_parts(fresh_sim)
    ws = fresh_sim.ws
    board = ws.project("ALPHA").board_id  # type: ignore[union-attr]
    active = next(s for s in ws.sprints[board] if s["state"] == "active")
    control.close_sprint(active["id"])
    future = min((s for s in ws.sprints[board] if s["state"] == "future"), key=lambda s: s["id"])
    control.move_to_sprint("ALPHA-5", future["id"])
    (change,) = control.start_sprint(future["id"])
    assert change.event == "sprint_started"
    scope = control.scope_at_start[future["id"]]
    assert "ALPHA-5" in scope["issue_keys"]
    status, _, data = make_call(fresh_sim)(
        "POST",
        "/rest/api/3/search/jql",
        {"jql": f"project = ALPHA AND sprint = {future['id']}", "maxResults": 100},
    )
    assert status == 200
    assert len(data["issues"]) == len(scope["issue_keys"])


def test_simulator_search_by_id_refuses_an_id_that_names_no_issue_as_jira_does(fresh_sim: JiraSimulator):
    call = make_call(fresh_sim)
    status, _, data = call(
        "POST", "/rest/api/3/search/jql", {"jql": "project = ALPHA AND id in (10001, 10002)"}
    )
    assert status == 200 and len(data["issues"]) == 2
    status, _, data = call(
        "POST", "/rest/api/3/search/jql", {"jql": "project = ALPHA AND id in (10001, 99999999)"}
    )
    assert status == 400
    assert "does not exist for field 'id'" in data["errorMessages"][0]


def test_simulator_dynamic_deliveries_name_the_matched_webhooks_and_the_served_site(fresh_sim: JiraSimulator):
    import base64
    import time

    hooks, control = live_parts(fresh_sim)
    sent: list[tuple[str, dict[str, str], bytes]] = []
    hooks.sender = lambda url, headers, body: sent.append((url, headers, body)) or 200
    first = hooks.register("https://app/a", ["jira:issue_updated"], "project = ALPHA", kind="dynamic")
    second = hooks.register("https://app/a", ["jira:issue_updated"], None, kind="dynamic")
    other = hooks.register("https://app/b", ["jira:issue_updated"], None, kind="dynamic")
    with fresh_sim.serve() as site:
        hooks.publish(control.edit_issue("ALPHA-2", summary="changed"))
        hooks.flush()
    by_url = {url: (headers, json.loads(body)) for url, headers, body in sent}
    assert len(sent) == 2, "one delivery per URL"
    assert by_url["https://app/a"][1]["matchedWebhookIds"] == [first.id, second.id]
    assert by_url["https://app/b"][1]["matchedWebhookIds"] == [other.id]
    headers, body = by_url["https://app/a"]
    assert body["issue"]["self"].startswith(site + "/rest/api/")
    assert body["user"]["self"].startswith(site + "/rest/api/")
    claims = json.loads(base64.urlsafe_b64decode(headers["Authorization"].split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 180 and abs(claims["iat"] - time.time()) < 60


def test_simulator_admin_deliveries_carry_no_matched_webhook_ids(fresh_sim: JiraSimulator):
    sent = _deliveries(fresh_sim, "adm1n")
    hooks, control = live_parts(fresh_sim)
    hooks.publish(control.edit_issue("ALPHA-2", summary="changed"))
    hooks.flush()
    ((_, body),) = sent
    assert "matchedWebhookIds" not in json.loads(body)
