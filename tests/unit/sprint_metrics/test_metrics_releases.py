"""Release metrics as tables: issues done per fix version, lead time from done to release."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from jira_onboarding.jira.structure import ProjectVersion
from jira_onboarding.sprint_metrics.issues import MetricIssue, to_micros
from jira_onboarding.sprint_metrics.releases import release_metrics


def issue(key: str, versions: tuple[str, ...], done_at: datetime | None, status: str = "done") -> MetricIssue:
    return MetricIssue(
        key=key,
        project_key="A",
        fix_version_ids=versions,
        status_category=status if done_at else "indeterminate",
        resolved=to_micros(done_at) if done_at else None,
    )


V1 = ProjectVersion(id="1", name="1.0", released=True, release_date=date(2026, 10, 10))
V2 = ProjectVersion(id="2", name="2.0", released=False, release_date=date(2026, 11, 30))
DAY = datetime(2026, 10, 10, 0, 0, tzinfo=UTC)  # the start of V1's release day

# (case id, issues, {version id: (issues, done, late, median lead days)})
TABLE = [
    (
        "done_on_the_release_day_start_waits_one_day",
        [issue("A-1", ("1",), DAY)],
        {"1": (1, 1, 0, 1.0), "2": (0, 0, 0, None)},
    ),
    (
        "median_over_done_issues_of_a_released_version",
        [
            issue("A-1", ("1",), datetime(2026, 10, 1, tzinfo=UTC)),
            issue("A-2", ("1",), datetime(2026, 10, 9, tzinfo=UTC)),
            issue("A-3", ("1",), None),
        ],
        {"1": (3, 2, 0, 6.0), "2": (0, 0, 0, None)},
    ),
    (
        "done_after_the_release_is_counted_apart",
        [issue("A-1", ("1",), datetime(2026, 10, 12, tzinfo=UTC))],
        {"1": (1, 1, 1, None), "2": (0, 0, 0, None)},
    ),
    (
        "an_unreleased_version_has_no_lead_time",
        [issue("A-1", ("2",), DAY)],
        {"1": (0, 0, 0, None), "2": (1, 1, 0, None)},
    ),
    (
        "an_issue_in_two_versions_counts_in_both",
        [issue("A-1", ("1", "2"), DAY)],
        {"1": (1, 1, 0, 1.0), "2": (1, 1, 0, None)},
    ),
    (
        "an_unknown_version_is_ignored",
        [issue("A-1", ("9",), DAY)],
        {"1": (0, 0, 0, None), "2": (0, 0, 0, None)},
    ),
]


@pytest.mark.parametrize(("issues", "expected"), [r[1:] for r in TABLE], ids=[r[0] for r in TABLE])
def test_release_metrics_table(issues: list[MetricIssue], expected: dict) -> None:
    report = release_metrics(issues, {"A": [V1, V2]})

    got = {
        v.version_id: (v.issues, v.done_issues, v.done_after_release, v.lead_time_days_median)
        for v in report.versions
    }
    assert got == expected
    assert report.released_versions == 1


def test_release_metrics_overall_median_and_order() -> None:
    report = release_metrics([issue("A-1", ("1",), DAY)], {"A": [V2, V1]})

    assert [v.name for v in report.versions] == ["1.0", "2.0"]  # by release date
    assert report.lead_time_days_median == 1.0 and report.done_issues_released == 1
    assert "lead_time_days" in report.basis
