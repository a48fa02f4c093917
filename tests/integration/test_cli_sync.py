"""`jira-onboarding sync`: the API token off the command line, a log file per run, and a timeout
that ends the process (issue 14, items 4, 17 and 18)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jira_simulator import JiraSimulator, build_workspace
from local_harness import cli
from local_harness.template import REPO_ROOT
from tests.conftest import SIM_EMAIL, SIM_TOKEN


def _args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**{"api_token": None, "bearer_token": None, "email": SIM_EMAIL, **values})


def test_sync_token_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", "from-env")
    assert cli._api_token(_args()) == "from-env"
    assert cli._api_token(_args(api_token="given")) == "given"


def test_sync_token_is_prompted_for_without_echo_when_neither_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JIRA_API_TOKEN", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    prompts: list[str] = []
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or "typed")

    assert cli._api_token(_args()) == "typed"
    assert prompts == [f"Atlassian API token for {SIM_EMAIL}: "]


def test_sync_without_any_token_ends_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("JIRA_API_TOKEN", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)

    code = cli.main(
        ["sync", "--jira-url", "https://acme.atlassian.net", "--email", SIM_EMAIL, "--project", "OPS"]
    )

    assert code == 2
    assert "JIRA_API_TOKEN" in capsys.readouterr().err


def test_log_file_is_a_new_file_per_run_and_keeps_the_last_ones() -> None:
    first = cli._log_file("test")
    first.write_text("first run\n", encoding="utf-8")
    second = cli._log_file("test")

    assert second != first
    assert first.read_text(encoding="utf-8") == "first run\n"
    assert second.read_text(encoding="utf-8") == ""
    first.unlink()
    second.unlink()


def test_sync_exits_at_its_timeout_while_the_run_still_goes(tmp_path: Path) -> None:
    # Given a Jira slow enough that the run cannot finish in 3 s
    simulator = JiraSimulator(build_workspace(seed=1), email=SIM_EMAIL, api_token=SIM_TOKEN, latency_s=0.5)
    with simulator.serve() as jira_url:
        env = {**os.environ, "JIRA_API_TOKEN": SIM_TOKEN, "TMPDIR": str(tmp_path)}
        command = [sys.executable, "-m", "local_harness.cli", "sync", "--jira-url", jira_url]
        command += ["--email", SIM_EMAIL, "--project", "ALPHA", "--timeout", "3"]
        started = time.monotonic()

        # When sync runs with --timeout 3
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        elapsed = time.monotonic() - started

    # Then the process ends by itself at 3 s, non-zero, with a line saying so
    assert done.returncode == cli.TIMED_OUT_EXIT, done.stderr[-2000:]
    assert "did not finish within 3 s" in done.stderr
    assert SIM_TOKEN not in done.stdout + done.stderr
    assert elapsed < 20  # --timeout counts from the start: 3 s, and the interpreter's own start-up
    assert list((tmp_path / "jira-onboarding-logs").glob("sync-*.log.jsonl"))
