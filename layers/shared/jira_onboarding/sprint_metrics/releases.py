"""Releases: issues done per fix version, and the lead time from done to release.

Jira's versions carry a release date (a calendar date, no time: `GET /rest/api/3/project/{key}/
versions`) and issues name their fix versions. An issue counts as done when its status category is
done; its done time is its resolution date. The lead time of a done issue is from its done time to
the end of its version's release day (UTC): how long finished work waited to ship. Work done after
the release day (a fix version set late) is counted apart, not as a negative lead time. Pure: the
repository reads the issues and versions.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from jira_onboarding.jira.structure import ProjectVersion
from jira_onboarding.sprint_metrics.issues import MICROS_PER_DAY, MetricIssue, to_micros

BASIS = {
    "done_issues": "Issues of the version whose status category is done.",
    "lead_time_days": "From an issue's resolution date to the end of its version's release day (UTC), "
    "for done issues resolved by then; median and 85th percentile.",
    "done_after_release": "Done issues resolved after the release day (the fix version was set late).",
}


class VersionMetrics(BaseModel):
    version_id: str
    name: str
    project_key: str
    released: bool
    release_date: str | None = None
    issues: int = 0
    done_issues: int = 0
    done_after_release: int = 0
    lead_time_days_median: float | None = None
    lead_time_days_p85: float | None = None


class ReleaseReport(BaseModel):
    versions: list[VersionMetrics]
    released_versions: int = 0
    done_issues_released: int = 0  # done issues of released versions
    lead_time_days_median: float | None = None  # over every released version's done issues
    basis: dict[str, str] = Field(default_factory=lambda: dict(BASIS))


def _release_end(day: date) -> int:
    return to_micros(datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC))


def _p85(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.85 * len(ordered)))], 2)


def release_metrics(
    issues: Iterable[MetricIssue], versions: Mapping[str, Iterable[ProjectVersion]]
) -> ReleaseReport:
    """Per version (`versions`: each project's), its issues, the done ones, and their lead time
    to the release."""
    project_of = {v.id: key for key, project_versions in versions.items() for v in project_versions}
    by_version = {v.id: v for project_versions in versions.values() for v in project_versions}
    members: dict[str, list[MetricIssue]] = {v: [] for v in by_version}
    for issue in issues:
        for version_id in issue.fix_version_ids:
            if version_id in members:
                members[version_id].append(issue)
    rows, all_leads = [], []
    ordered = sorted(
        by_version.values(), key=lambda v: (project_of[v.id], v.release_date or date.max, v.name)
    )
    for version in ordered:
        done = [i for i in members[version.id] if i.status_category == "done" and i.resolved is not None]
        leads: list[float] = []
        late = 0
        if version.released and version.release_date is not None:
            end = _release_end(version.release_date)
            for issue in done:
                if issue.resolved <= end:  # type: ignore[operator]
                    leads.append((end - issue.resolved) / MICROS_PER_DAY)  # type: ignore[operator]
                else:
                    late += 1
            all_leads += leads
        rows.append(
            VersionMetrics(
                version_id=version.id,
                name=version.name,
                project_key=project_of[version.id],
                released=version.released,
                release_date=version.release_date.isoformat() if version.release_date else None,
                issues=len(members[version.id]),
                done_issues=len(done),
                done_after_release=late,
                lead_time_days_median=round(statistics.median(leads), 2) if leads else None,
                lead_time_days_p85=_p85(leads),
            )
        )
    released = [r for r in rows if r.released]
    return ReleaseReport(
        versions=rows,
        released_versions=len(released),
        done_issues_released=sum(r.done_issues for r in released),
        lead_time_days_median=round(statistics.median(all_leads), 2) if all_leads else None,
    )
