"""The contract check (local_harness/openapi_contract.py): an answer keeps the document when its
status is documented for its route and its body matches; recorded answers are checked the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_harness.openapi_contract import RECORD_ENV, OpenApiContract, check_recorded, record_answer

CONTRACT = OpenApiContract()


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/jira/onboarding", "/jira/onboarding"),
        ("POST", "/jira/onboarding", "/jira/onboarding"),
        ("GET", "/jira/onboarding/run-1", "/jira/onboarding/{run_id}"),
        ("PUT", "/jira/members/m-1/match", "/jira/members/{member_id}/match"),
        ("POST", "/jira/webhooks/abc", "/jira/webhooks/{connection_id}"),
        ("PUT", "/jira/onboarding/run-1", None),
    ],
)
def test_contract_finds_the_route_a_path_is_served_by(method: str, path: str, template: str | None) -> None:
    assert CONTRACT.route(method, path) == template


def test_contract_refuses_an_undocumented_status_and_a_body_off_its_schema() -> None:
    assert CONTRACT.problems("GET", "/jira/onboarding", 404, {"message": "none yet"}) == []
    assert CONTRACT.problems("GET", "/jira/onboarding", 400, {"problems": ["x"], "message": "bad"}) != []
    assert CONTRACT.problems("GET", "/jira/onboarding", 422, {"detail": []}) != []
    assert CONTRACT.problems("GET", "/jira/onboarding", 404, {"detail": "x"}) != []
    assert CONTRACT.problems("GET", "/jira/oauth/callback", 302, None) == []


def test_recorded_answers_are_checked_against_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RECORD_ENV, str(tmp_path))
    record_answer("GET", "/jira/metrics", 404, {"message": "No Jira metrics yet."})
    record_answer("GET", "/jira/metrics", 422, {"detail": []})

    count, seen, problems = check_recorded(tmp_path, CONTRACT)

    assert count == 2 and seen == {"GET /jira/metrics 404", "GET /jira/metrics 422"}
    assert problems == ["GET /jira/metrics -> 422: status not documented for GET /jira/metrics"]
