"""Auth, fault plans, burst limiting and latency behave as specified."""

from __future__ import annotations

import time

import pytest

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match, SimulatedTimeout
from jira_simulator.demo import DEMO_EMAIL
from jira_simulator.ratelimits import BURST

from .conftest import BEARER, make_call


def test_simulator_auth_basic_bearer_and_401(sim, call):
    assert call("GET", "/rest/api/3/myself")[0] == 200
    assert call("GET", "/rest/api/3/myself", headers=BEARER)[0] == 200
    for bad in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic ZGVtbzp3cm9uZw=="}):
        status, headers, data = call("GET", "/rest/api/3/myself", headers=bad)
        assert status == 401
        assert data == {
            "errorMessages": ["Client must be authenticated to access this resource."],
            "errors": {},
        }
        assert headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    _, _, me = call("GET", "/rest/api/3/myself")
    assert me["emailAddress"] == DEMO_EMAIL


def test_simulator_unknown_path_is_404(call):
    status, _, data = call("GET", "/rest/api/3/nothing/here")
    assert status == 404 and data["errorMessages"]


def test_simulator_scripted_faults_fire_on_the_nth_call(demo_ws):
    plan = FaultPlan.script(
        [
            (Match(path="/search/jql", nth=2), Fault.burst_limited(retry_after=2)),
            (Match(method="GET", path="/field", first=2), Fault.status(503)),
            ("/serverInfo", Fault.quota_exhausted()),
        ]
    )
    call = make_call(JiraSimulator(demo_ws, faults=plan))
    body = {"jql": "project = ALPHA"}
    assert call("POST", "/rest/api/3/search/jql", body)[0] == 200
    status, headers, _ = call("POST", "/rest/api/3/search/jql", body)
    assert status == 429 and headers["Retry-After"] == "2" and headers["RateLimit-Reason"] == BURST
    assert call("POST", "/rest/api/3/search/jql", body)[0] == 200
    assert [call("GET", "/rest/api/3/field")[0] for _ in range(3)] == [503, 503, 200]
    status, headers, _ = call("GET", "/rest/api/3/serverInfo")
    assert status == 429 and headers["RateLimit-Reason"] == "jira-quota-global-based"
    assert headers["Retry-After"] == "1800" and headers["X-RateLimit-Reset"].startswith("2026-")
    assert len(plan.fired) == 4


def test_simulator_rate_limit_headers_only_when_limiting(call):
    _, headers, _ = call("GET", "/rest/api/3/field")
    assert not [h for h in headers if h.lower().startswith(("x-ratelimit", "retry-after", "ratelimit"))]


@pytest.mark.parametrize("code", [403, 404])
def test_simulator_fail_project_fails_every_call_about_it(demo_ws, code):
    call = make_call(JiraSimulator(demo_ws, faults=FaultPlan.fail_project("BETA", status=code)))
    about_beta = [
        ("GET", "/rest/api/3/project/BETA", None),
        ("GET", "/rest/api/3/project/10001", None),
        ("POST", "/rest/api/3/search/jql", {"jql": 'project = "BETA" AND updated >= "2026-10-01"'}),
        ("POST", "/rest/api/3/search/approximate-count", {"jql": "project=BETA"}),
        ("GET", "/rest/agile/1.0/board?projectKeyOrId=BETA", None),
        ("GET", "/rest/agile/1.0/board/2/configuration", None),
        ("GET", "/rest/agile/1.0/board/2/sprint", None),
        ("GET", f"/rest/agile/1.0/sprint/{demo_ws.sprints[2][0]['id']}", None),
        ("POST", "/rest/api/3/changelog/bulkfetch", {"issueIdsOrKeys": ["BETA-1"]}),
    ]
    for method, path, body in about_beta:
        assert call(method, path, body)[0] == code, path
    assert call("POST", "/rest/api/3/search/jql", {"jql": "project = ALPHA"})[0] == 200
    assert call("GET", "/rest/agile/1.0/board/1/sprint")[0] == 200


def test_simulator_random_faults_are_seeded(demo_ws):
    def statuses(seed: int) -> list[int]:
        call = make_call(JiraSimulator(demo_ws, faults=FaultPlan.random(seed, rate=0.3)))
        return [call("GET", "/rest/api/3/field")[0] for _ in range(60)]

    first = statuses(7)
    assert first == statuses(7)
    failures = [s for s in first if s != 200]
    assert 8 <= len(failures) <= 30 and set(failures) <= {429, 500, 502, 503}


def test_simulator_malformed_json_and_timeout(demo_ws):
    plan = FaultPlan.script(
        [
            (Match(path="/field", nth=1), Fault.malformed_json()),
            (Match(path="/myself", nth=1), Fault.timeout(0)),
        ]
    )
    sim = JiraSimulator(demo_ws, faults=plan)
    status, _, data = sim.handle("GET", "/rest/api/3/field", {"Authorization": BEARER["Authorization"]}, None)
    assert status == 200
    with pytest.raises(ValueError):
        __import__("json").loads(data)
    with pytest.raises(SimulatedTimeout):
        sim.handle("GET", "/rest/api/3/myself", BEARER, None)
    assert sim.request_log[-1].status == 0
    assert sim.handle("GET", "/rest/api/3/myself", BEARER, None)[0] == 200


def test_simulator_expired_token_until_refreshed(demo_ws):
    plan = FaultPlan.script([(Match(path="/field", nth=2), Fault.expired_token())])
    sim = JiraSimulator(demo_ws, faults=plan, bearer_tokens={"old-token"})
    call = make_call(sim)
    old = {"Authorization": "Bearer old-token"}
    assert call("GET", "/rest/api/3/field", headers=old)[0] == 200
    status, headers, _ = call("GET", "/rest/api/3/field", headers=old)
    assert status == 401 and "invalid_token" in headers["WWW-Authenticate"]
    assert call("GET", "/rest/api/3/myself", headers=old)[0] == 401  # stays expired
    sim.add_bearer_token("new-token")
    assert call("GET", "/rest/api/3/myself", headers={"Authorization": "Bearer new-token"})[0] == 200


def test_simulator_burst_limit_and_latency(demo_ws):
    sim = JiraSimulator(demo_ws, burst_per_second=5)
    call = make_call(sim)
    results = [call("GET", "/rest/api/3/serverInfo") for _ in range(12)]
    limited = [h for s, h, _ in results if s == 429]
    assert 5 <= len(limited) <= 7
    assert limited[0]["Retry-After"] == "1" and limited[0]["RateLimit-Reason"] == BURST
    time.sleep(0.5)
    assert call("GET", "/rest/api/3/serverInfo")[0] == 200  # the bucket refills

    slow = make_call(
        JiraSimulator(demo_ws, latency_s=0.05, faults=FaultPlan.script([("/field", Fault.latency(0.1))]))
    )
    started = time.perf_counter()
    slow("GET", "/rest/api/3/serverInfo")
    slow("GET", "/rest/api/3/field")
    assert time.perf_counter() - started >= 0.2


def test_simulator_request_log_and_stats(sim, call):
    call("GET", "/rest/api/3/field")
    call("GET", "/rest/api/3/field")
    call("GET", "/rest/agile/1.0/board/4/sprint")
    call("GET", "/rest/api/3/myself", headers={})
    stats = sim.stats()
    assert stats["total"] == 4
    assert stats["by_endpoint"]["GET /rest/api/3/field"] == 2
    assert stats["by_status"] == {200: 2, 400: 1, 401: 1}
    record = sim.request_log[2]
    assert (record.method, record.path, record.status) == ("GET", "/rest/agile/1.0/board/4/sprint", 400)
    assert len(sim.calls("/field")) == 2
