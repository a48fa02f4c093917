"""The real HTTP(S) server and the httpx MockTransport adapter."""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading

import httpx
import pytest

from jira_simulator import Fault, FaultPlan, JiraSimulator, Match
from jira_simulator.cli import main
from jira_simulator.demo import DEMO_API_TOKEN, DEMO_EMAIL

AUTH = (DEMO_EMAIL, DEMO_API_TOKEN)


def test_simulator_serves_over_http_with_httpx(demo_ws):
    sim = JiraSimulator(demo_ws)
    with sim.serve() as base_url, httpx.Client(base_url=base_url, auth=AUTH, timeout=5) as client:
        assert base_url.startswith("http://127.0.0.1:")
        r = client.get("/rest/api/3/field")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json;charset=UTF-8"
        keys, token = [], None
        while True:
            body = {"jql": "project = GAMMA", "fields": ["summary"], "maxResults": 25}
            if token:
                body["nextPageToken"] = token
            page = client.post("/rest/api/3/search/jql", json=body).json()
            keys += [i["key"] for i in page["issues"]]
            token = page.get("nextPageToken")
            if page["isLast"]:
                break
        assert len(keys) == demo_ws.issue_count("GAMMA")
        assert client.get("/rest/api/3/myself", auth=None).status_code == 401
    assert sim.stats()["by_endpoint"]["POST /rest/api/3/search/jql"] == 3


def test_simulator_http_timeout_fault_drops_the_connection(demo_ws):
    plan = FaultPlan.script([(Match(path="/field", nth=1), Fault.timeout(5))])
    sim = JiraSimulator(demo_ws, faults=plan)
    with sim.serve() as base_url, httpx.Client(base_url=base_url, auth=AUTH, timeout=0.3) as client:
        with pytest.raises(httpx.TimeoutException):
            client.get("/rest/api/3/field")
        assert client.get("/rest/api/3/field").status_code == 200


def test_simulator_httpx_mock_transport(demo_ws):
    plan = FaultPlan.script([(Match(path="/myself", nth=2), Fault.timeout())])
    sim = JiraSimulator(demo_ws, faults=plan)
    with httpx.Client(
        transport=httpx.MockTransport(sim.httpx_handler), base_url="https://x.atlassian.net", auth=AUTH
    ) as client:
        assert client.get("/rest/api/3/myself").json()["accountType"] == "atlassian"
        with pytest.raises(httpx.ReadTimeout):
            client.get("/rest/api/3/myself")
        r = client.get("/rest/agile/1.0/board", params={"projectKeyOrId": "ALPHA"})
        assert r.json()["values"][0]["id"] == 1


def test_simulator_serves_https_with_a_self_signed_cert(demo_ws):
    sim = JiraSimulator(demo_ws)
    with sim.serve(tls=True) as base_url:
        assert base_url.startswith("https://")
        verify = ssl.create_default_context(cafile=sim.tls_cert_path)
        with httpx.Client(base_url=base_url, auth=AUTH, verify=verify, timeout=5) as client:
            assert client.get("/rest/api/3/serverInfo").json()["deploymentType"] == "Cloud"


def test_simulator_cli_main_serves_until_stopped(capsys):
    stop = threading.Event()
    thread = threading.Thread(target=main, args=(["--port", "0", "--seed", "1"],), kwargs={"stop": stop})
    thread.start()
    try:
        for _ in range(100):
            out = capsys.readouterr().out
            if "listening on" in out:
                break
            stop.wait(0.05)
        base_url = out.split("listening on ")[1].split()[0]
        assert "ALPHA (120 issues)" in out and DEMO_API_TOKEN in out
        assert httpx.get(f"{base_url}/rest/api/3/myself", auth=AUTH).status_code == 200
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_simulator_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "jira_simulator", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--latency-ms" in out and "--burst" in out


def test_jira_client_verifies_tls_with_one_context_per_ca_setting(demo_ws, monkeypatch):
    """The client builds httpx's verified TLS context once per process (per SSL_CERT_FILE): a site
    whose certificate the CA setting does not trust is refused, one it trusts answers."""
    from jira_onboarding.errors import JiraError
    from jira_onboarding.jira.client import JiraClient, JiraCredentials, _tls_context

    sim = JiraSimulator(demo_ws)
    with sim.serve(tls=True) as base_url:
        credentials = JiraCredentials(base_url, "api_token", email=AUTH[0], api_token=AUTH[1])
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        untrusted = JiraClient.connect(credentials, timeout_s=5, max_attempts=1)
        with pytest.raises(JiraError):
            untrusted.myself()  # self-signed: not in the default bundle
        untrusted.close()

        monkeypatch.setenv("SSL_CERT_FILE", sim.tls_cert_path)
        first = JiraClient.connect(credentials, timeout_s=5)
        second = JiraClient.connect(credentials, timeout_s=5)
        assert first.myself().account_id == second.myself().account_id
        first.close()
        second.close()
        assert _tls_context(sim.tls_cert_path, None) is _tls_context(sim.tls_cert_path, None)
        assert _tls_context(sim.tls_cert_path, None) is not _tls_context(None, None)
