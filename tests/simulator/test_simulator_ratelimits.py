"""Jira Cloud's 2026 limits in the simulator: burst buckets per tenant, endpoint and method; hourly
points quotas per tenant and per app pool; the documented headers (JIRA_API_NOTES.md, "Rate limits")."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from jira_simulator import JiraSimulator
from jira_simulator.ratelimits import (
    BURST,
    GLOBAL_QUOTA,
    TENANT_QUOTA,
    RateLimits,
    SiteLimits,
    points_cost,
    split_tenant,
)

from .conftest import BASIC, BEARER, make_call


class Clock:
    def __init__(self, at: float = 1_800_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _sim(demo_ws, limits: RateLimits) -> JiraSimulator:
    return JiraSimulator(demo_ws, rate_limits=limits)


def _reset(headers: dict[str, str]) -> float:
    return datetime.fromisoformat(headers["X-RateLimit-Reset"].replace("Z", "+00:00")).timestamp()


def test_split_tenant_reads_the_documented_oauth_base():
    assert split_tenant("/ex/jira/cloud-1/rest/api/3/field") == ("cloud-1", "/rest/api/3/field")
    assert split_tenant("/rest/api/3/field") == ("site", "/rest/api/3/field")


def test_simulator_serves_a_site_per_cloud_id_with_the_workspace(demo_ws):
    call = make_call(JiraSimulator(demo_ws))
    status, _, fields = call("GET", "/ex/jira/cloud-7/rest/api/3/field", headers=BEARER)
    assert status == 200 and fields == call("GET", "/rest/api/3/field")[2]


def test_burst_limit_is_per_endpoint_and_method_with_documented_headers(demo_ws):
    clock = Clock()
    call = make_call(_sim(demo_ws, RateLimits(SiteLimits(burst_per_second=3), clock=clock)))
    assert [call("GET", "/rest/api/3/field")[0] for _ in range(4)] == [200, 200, 200, 429]
    status, headers, body = call("GET", "/rest/api/3/field")
    assert status == 429 and body["errorMessages"] == ["Rate limit exceeded."]
    assert headers["RateLimit-Reason"] == BURST
    assert headers["Retry-After"] == "1" and headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Limit"] == "3"
    assert _reset(headers) == pytest.approx(clock.at + 1, abs=0.01)
    # Another endpoint, and the same one on another tenant, have buckets of their own.
    assert call("GET", "/rest/api/3/myself")[0] == 200
    assert call("GET", "/ex/jira/other/rest/api/3/field", headers=BEARER)[0] == 200
    clock.at += 1.0  # the bucket refills at its rate
    assert [call("GET", "/rest/api/3/field")[0] for _ in range(4)] == [200, 200, 200, 429]


def test_burst_scope_site_puts_every_endpoint_in_one_bucket(demo_ws):
    call = make_call(
        _sim(demo_ws, RateLimits(SiteLimits(burst_per_second=2, burst_scope="site"), clock=Clock()))
    )
    statuses = [
        call("GET", path)[0] for path in ("/rest/api/3/field", "/rest/api/3/myself", "/rest/api/3/field")
    ]
    assert statuses == [200, 200, 429]


def test_points_quota_charges_the_cost_model_and_sends_the_headers(demo_ws):
    clock = Clock()
    limits = RateLimits(SiteLimits(points_per_hour=1000), clock=clock)
    call = make_call(_sim(demo_ws, limits))
    body = {"jql": "project = GAMMA", "fields": ["summary"], "maxResults": 25}
    status, headers, page = call("POST", "/rest/api/3/search/jql", body, headers=BEARER)
    assert status == 200
    assert int(headers["X-RateLimit-Remaining"]) == 1000 - (1 + len(page["issues"]))
    assert headers["X-RateLimit-Limit"] == "1000" and "X-RateLimit-NearLimit" not in headers
    assert _reset(headers) == pytest.approx(clock.at + 3600)  # the window opened with the first call
    _, headers, users = call("GET", "/rest/api/3/users/search?maxResults=50", headers=BEARER)
    assert int(headers["X-RateLimit-Remaining"]) == 1000 - (1 + len(page["issues"])) - (1 + 2 * len(users))
    # API-token traffic is not under points quotas: no quota headers, nothing spent.
    _, basic_headers, _ = call("GET", "/rest/api/3/field", headers=BASIC)
    assert "X-RateLimit-Remaining" not in basic_headers


def test_points_quota_near_limit_then_tenant_429_until_the_reset(demo_ws):
    clock = Clock()
    limits = RateLimits(SiteLimits(points_per_hour=10, quota_window_s=60), clock=clock)
    call = make_call(_sim(demo_ws, limits))
    remaining = []
    for _ in range(10):
        status, headers, _ = call("GET", "/rest/api/3/field", headers=BEARER)
        assert status == 200
        remaining.append((int(headers["X-RateLimit-Remaining"]), headers.get("X-RateLimit-NearLimit")))
    assert remaining[7] == (2, None) and remaining[8] == (1, "true")  # NearLimit under 20% left
    status, headers, _ = call("GET", "/rest/api/3/field", headers=BEARER)
    assert status == 429 and headers["RateLimit-Reason"] == TENANT_QUOTA
    reset = _reset(headers)
    assert reset == pytest.approx(clock.at + 60) and headers["Retry-After"] == "60"
    # Another tenant is not paused; after the reset this one is open again.
    assert call("GET", "/ex/jira/b/rest/api/3/field", headers=BEARER)[0] == 200
    clock.at = reset
    assert call("GET", "/rest/api/3/field", headers=BEARER)[0] == 200


def test_app_pool_is_shared_by_every_tenant_of_the_app(demo_ws):
    clock = Clock()
    limits = RateLimits(SiteLimits(app="our-app"), app_pools={"our-app": 3}, clock=clock)
    call = make_call(_sim(demo_ws, limits))
    for tenant in ("a", "b", "c"):
        assert call("GET", f"/ex/jira/{tenant}/rest/api/3/field", headers=BEARER)[0] == 200
    status, headers, _ = call("GET", "/ex/jira/d/rest/api/3/field", headers=BEARER)
    assert status == 429 and headers["RateLimit-Reason"] == GLOBAL_QUOTA
    assert call("GET", "/ex/jira/d/rest/api/3/field", headers=BASIC)[0] == 200  # API tokens: no pool


def test_refused_request_logs_its_tenant_and_spends_nothing(demo_ws):
    limits = RateLimits(SiteLimits(points_per_hour=1, quota_window_s=60), clock=Clock())
    sim = _sim(demo_ws, limits)
    call = make_call(sim)
    call("GET", "/ex/jira/t1/rest/api/3/field", headers=BEARER)
    call("GET", "/ex/jira/t1/rest/api/3/field", headers=BEARER)
    assert [(r.tenant, r.status, r.path) for r in sim.request_log] == [
        ("t1", 200, "/rest/api/3/field"),
        ("t1", 429, "/rest/api/3/field"),
    ]
    assert [r[:2] for r in limits.refusals] == [("t1", TENANT_QUOTA)]


@pytest.mark.parametrize(
    ("method", "path", "payload", "cost"),
    [
        ("POST", "/rest/api/3/search/jql", {"issues": [{}, {}, {}]}, 4),
        ("GET", "/rest/api/3/users/search", [{}, {}], 5),
        ("GET", "/rest/api/3/project/search", {"values": [{}]}, 2),
        (
            "POST",
            "/rest/api/3/changelog/bulkfetch",
            {"issueChangeLogs": [{"issueId": "1"}, {"issueId": "2"}]},
            3,
        ),
        (
            "POST",
            "/rest/api/3/changelog/bulkfetch",
            {"issueChangeLogs": [{"issueId": "1"}, {"issueId": "1"}]},
            2,
        ),
        ("GET", "/rest/api/3/field", [{}, {}, {}], 1),
        ("POST", "/rest/api/3/issue", {"id": "1"}, 1),
        ("GET", "/rest/api/3/myself", None, 1),
    ],
)
def test_points_cost_is_a_base_point_plus_objects_returned(method, path, payload, cost):
    assert points_cost(method, path, json.loads(json.dumps(payload))) == cost


def test_simulator_names_each_limit_as_the_client_reads_it() -> None:
    """Two sides of one protocol, each with its own copy (the simulator plays Jira and imports
    nothing of ours): the `RateLimit-Reason` values must agree."""
    from jira_onboarding.jira import responses

    from jira_simulator import ratelimits

    assert (ratelimits.BURST, ratelimits.TENANT_QUOTA, ratelimits.GLOBAL_QUOTA) == (
        responses.BURST,
        responses.TENANT_QUOTA,
        responses.GLOBAL_QUOTA,
    )
