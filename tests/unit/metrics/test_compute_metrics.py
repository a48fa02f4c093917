"""Compute Metrics (logic/metrics/compute.py) on moto tables built from template.yaml, from stored
state written directly (no sync): when a quiet night reuses the latest snapshot instead of reading
every issue, the members matched again on the way, and a matching failure that must not cost the
metrics. A snapshot computed from a real sync is test_run_logic.py's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.contracts import StepInput
from jira_onboarding.dal.team import TeamStores
from jira_onboarding.jira.models import JiraUser
from jira_onboarding.logic.metrics import compute as module
from jira_onboarding.logic.metrics.compute import (
    MAX_UNCHANGED_SNAPSHOT_AGE,
    compute_metrics,
    latest_metrics,
    unchanged_snapshot,
)
from jira_onboarding.records import MetricsSnapshot, PullRequest, TeamMember

from tests.conftest import set_project_fields

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
SNAPSHOT_AT = NOW - timedelta(days=1)


@pytest.fixture
def quiet(team_id: str) -> str:
    """Given a team whose latest snapshot is a day old and whose run-2 wrote no issue since."""
    stores = TeamStores(team_id)
    stores.runs.record("run-2", ["ALPHA", "BETA"])
    stores.metrics.save_snapshot(
        MetricsSnapshot(team_id=team_id, snapshot_id="snap-1", run_id="run-1", computed_at=SNAPSHOT_AT)
    )
    return team_id


def _merged_pr(team_id: str, at: datetime) -> PullRequest:
    return PullRequest(team_id=team_id, repository="acme/app", number=7, created_at=at, merged_at=at)


def test_unchanged_snapshot_is_the_latest_when_the_run_wrote_nothing_and_no_pr_merged(quiet: str) -> None:
    assert unchanged_snapshot(TeamStores(quiet), "run-2", NOW) == "snap-1"


def test_compute_metrics_of_a_quiet_run_answers_the_latest_snapshot_without_computing(quiet: str) -> None:
    summary = compute_metrics(StepInput(team_id=quiet, run_id="run-2"), now=NOW)

    assert (summary.snapshot_id, summary.unchanged, summary.generator) == ("snap-1", True, "unchanged")
    assert latest_metrics(quiet).snapshot_id == "snap-1"  # no new snapshot stored


# (case id, the change since the snapshot)
CHANGES = [
    ("issues_written", lambda team: set_project_fields(team, "ALPHA", issues_written=3)),
    ("swept_since", lambda team: set_project_fields(team, "BETA", last_swept_at=NOW - timedelta(hours=1))),
    ("another_run_owns_a_project", lambda team: set_project_fields(team, "ALPHA", run_id="run-3")),
    (
        "a_pr_merged",
        lambda team: TeamStores(team).metrics.save_pull_requests(
            [_merged_pr(team, NOW - timedelta(hours=2))]
        ),
    ),
]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_unchanged_snapshot_is_none_when_something_it_depends_on_changed(quiet: str, change) -> None:
    change(quiet)

    assert unchanged_snapshot(TeamStores(quiet), "run-2", NOW) is None


def test_unchanged_snapshot_ignores_projects_no_longer_selected(quiet: str) -> None:
    set_project_fields(quiet, "ALPHA", selected=False, issues_written=5, run_id="run-1")

    assert unchanged_snapshot(TeamStores(quiet), "run-2", NOW) == "snap-1"


def test_unchanged_snapshot_is_none_when_the_snapshot_is_too_old_or_missing(quiet: str, team_id: str) -> None:
    later = SNAPSHOT_AT + MAX_UNCHANGED_SNAPSHOT_AGE + timedelta(seconds=1)

    assert unchanged_snapshot(TeamStores(quiet), "run-2", later) is None  # the PR window moved
    assert unchanged_snapshot(TeamStores(f"{team_id}-new"), "run-1", NOW) is None


def _team_with_people(team_id: str) -> TeamStores:
    """Members and Jira users the matching pairs by email, and the run's users summary."""
    stores = TeamStores(team_id)
    stores.runs.record("run-1", ["ALPHA"])
    stores.people.save_jira_users(
        [
            JiraUser.model_validate(
                {"accountId": "acc-1", "displayName": "Maria Lopez", "emailAddress": "m@acme.io"}
            )
        ]
    )
    stores.people.save_member(TeamMember(team_id=team_id, member_id="m01", emails=["m@acme.io"]))
    stores.runs.record_users("run-1", {"fetched": 1, "matched": 0})
    return stores


def test_compute_metrics_matches_the_members_again_and_updates_the_runs_users_summary(team_id: str) -> None:
    stores = _team_with_people(team_id)

    summary = compute_metrics(StepInput(team_id=team_id, run_id="run-1"), now=NOW)

    assert summary.members_matched == 1 and summary.unchanged is False
    assert stores.people.get_member("m01").jira_account_id == "acc-1"  # type: ignore[union-attr]
    run = stores.runs.get("run-1")
    assert run is not None and run.users_summary is not None
    assert run.users_summary["fetched"] == 1 and run.users_summary["matched"] == 1
    assert latest_metrics(team_id).snapshot_id == summary.snapshot_id and summary.insights >= 1


def test_compute_metrics_stores_its_snapshot_when_matching_fails(
    team_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _team_with_people(team_id)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("matching broke")

    monkeypatch.setattr(module, "rematch_members", broken)

    summary = compute_metrics(StepInput(team_id=team_id, run_id="run-1"), now=NOW)

    assert summary.members_matched is None and summary.matched_by_evidence is None
    assert latest_metrics(team_id).snapshot_id == summary.snapshot_id
    assert TeamStores(team_id).people.get_member("m01").jira_account_id is None  # type: ignore[union-attr]
