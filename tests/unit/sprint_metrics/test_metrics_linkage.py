"""PR <-> Jira linkage on hand-built pull requests, one per reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.records import PullRequest, TeamMember
from jira_onboarding.sprint_metrics.issues import metric_issues
from jira_onboarding.sprint_metrics.linkage import (
    correlate_pull_requests,
    find_key_candidates,
    link_pull_request,
)

TEAM = "team-acme"
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 31, tzinfo=UTC)
PROJECTS = ["ALPHA", "BETA"]


def pr(
    repo: str,
    number: int,
    *,
    title: str = "Change",
    branch: str | None = None,
    body: str | None = None,
    author: str = "alice",
    created_day: int = 10,
    hours: float = 10,
    merged: bool = True,
) -> PullRequest:
    created = datetime(2026, 10, created_day, tzinfo=UTC)
    return PullRequest(
        team_id=TEAM,
        repository=repo,
        number=number,
        title=title,
        branch=branch,
        body=body,
        author_login=author,
        created_at=created,
        merged_at=created + timedelta(hours=hours) if merged else None,
    )


def jira_issue(key: str, *, done_day: int | None = None) -> JiraIssue:
    return JiraIssue(
        id=key,
        key=key,
        project_key=key.split("-")[0],
        status_category="done" if done_day else "indeterminate",
        resolved=datetime(2026, 10, done_day, tzinfo=UTC) if done_day else None,
    )


# As the metrics read them (the repository builds these lean issues from the stored items)
ISSUES = metric_issues(
    [
        jira_issue("ALPHA-1", done_day=5),
        jira_issue("ALPHA-2", done_day=6),
        jira_issue("BETA-3"),
        jira_issue("ALPHA-3", done_day=7),
        jira_issue("GAMMA-1", done_day=7),
    ]
)
MEMBERS = [
    TeamMember(
        team_id=TEAM, member_id="m-alice", github_login="alice", display_name="Alice", jira_account_id="acc-1"
    ),
    TeamMember(
        team_id=TEAM, member_id="m-bob", github_login="bob", display_name="Bob", jira_account_id="acc-2"
    ),
]
PRS = [
    pr("acme/api", 1, title="ALPHA-1: fix login", hours=10),  # linked (title)
    pr(
        "acme/api", 2, title="Cache", branch="alpha-2-cache", author="Bob", hours=20
    ),  # linked (lowercase branch)
    pr("acme/web", 3, body="Implements BETA-3.\n\nDetails in the ticket.", hours=30),  # linked (body)
    pr("acme/web", 4, title="Tidy readme", author="carol", hours=5),  # no key
    pr("acme/web", 5, title="ALPAH-1 typo in the key", hours=7),  # unknown project (transposed letters)
    pr(
        "acme/api", 6, title="ALPHA-999 does not exist", author="bob", hours=9
    ),  # key of a team project, not synced
    pr("acme/api", 7, title="[ALPHA-1] still open", merged=False),  # not merged: left out
    pr("acme/api", 8, title="ALPHA-3 earlier", created_day=1, hours=-48),  # merged before the window
]


@pytest.fixture(scope="module")
def report():
    return correlate_pull_requests(
        PRS, project_keys=PROJECTS, issues=ISSUES, members=MEMBERS, window_start=START, window_end=END
    )


def test_find_key_candidates_reads_keys_however_people_write_them():
    assert find_key_candidates("[alpha-12] Fix", "bugfix/BETA-3-null", "See Alpha-12 and OPS-7.") == [
        "ALPHA-12",
        "BETA-3",
        "OPS-7",
    ]
    assert find_key_candidates("ALPHA-12x", "v2", "ALPHA-0", None) == []


def test_link_pull_request_gives_every_reason():
    projects, keys = frozenset(PROJECTS), frozenset(i.key for i in ISSUES)

    assert link_pull_request(PRS[0], projects, keys).linked_keys == ["ALPHA-1"]
    assert link_pull_request(PRS[3], projects, keys).reason == "no_key"
    assert link_pull_request(PRS[4], projects, keys).reason == "unknown_project"
    assert link_pull_request(PRS[5], projects, keys).reason == "key_not_found"


def test_pr_jira_correlation_counts_merged_prs_in_the_window(report):
    assert report.merged_prs == 6
    assert report.linked_prs == 3
    assert report.linkage_rate == 0.5
    assert report.unlinked_reasons == {"no_key": 1, "unknown_project": 1, "key_not_found": 1}
    assert {e.pr_id: e.reason for e in report.unlinked_examples} == {
        "acme/web#4": "no_key",
        "acme/web#5": "unknown_project",
        "acme/api#6": "key_not_found",
    }


def test_pr_jira_correlation_ignores_keys_of_projects_the_team_does_not_sync():
    # Given GAMMA-1 exists among the issues but GAMMA is not one of the team's projects
    gamma = pr("acme/api", 9, title="GAMMA-1 elsewhere")

    result = correlate_pull_requests(
        [gamma], project_keys=PROJECTS, issues=ISSUES, members=MEMBERS, window_start=START, window_end=END
    )

    assert result.linked_prs == 0 and result.unlinked_reasons["unknown_project"] == 1


def test_pr_jira_correlation_by_repository(report):
    assert [(r.repository, r.merged, r.linked, r.rate) for r in report.by_repository] == [
        ("acme/api", 3, 2, pytest.approx(0.667)),
        ("acme/web", 3, 1, pytest.approx(0.333)),
    ]


def test_pr_jira_correlation_by_author_goes_through_team_members(report):
    rows = {(a.member_id, a.author_login): (a.merged, a.linked, a.jira_account_id) for a in report.by_author}

    # "Bob" and "bob" are one member; carol is not a team member
    assert rows == {
        ("m-alice", "alice"): (3, 2, "acc-1"),
        ("m-bob", "bob"): (2, 1, "acc-2"),
        (None, "carol"): (1, 0, None),
    }


def test_pr_jira_correlation_done_issues_without_pr(report):
    # ALPHA-1 and ALPHA-2 have PRs; ALPHA-3's only PR was merged before the window (it still counts)
    assert report.done_issues_without_pr.done_issues == 3
    assert report.done_issues_without_pr.without_pr == 0


def test_pr_jira_correlation_done_issue_with_no_pr_at_all_is_listed():
    result = correlate_pull_requests(
        PRS[:3], project_keys=PROJECTS, issues=ISSUES, members=MEMBERS, window_start=START, window_end=END
    )

    assert result.done_issues_without_pr.keys == ["ALPHA-3"]
    assert result.done_issues_without_pr.share == pytest.approx(0.333)


def test_pr_jira_correlation_cycle_time_linked_vs_unlinked(report):
    assert report.pr_cycle_time.linked_median_hours == 20
    assert report.pr_cycle_time.unlinked_median_hours == 7
    assert (report.pr_cycle_time.linked_prs, report.pr_cycle_time.unlinked_prs) == (3, 3)


def test_pr_jira_correlation_with_no_prs_has_no_rate():
    result = correlate_pull_requests(
        [], project_keys=PROJECTS, issues=ISSUES, members=MEMBERS, window_start=START, window_end=END
    )

    assert result.linkage_rate is None and result.merged_prs == 0
    assert result.pr_cycle_time.linked_median_hours is None
