"""Releases and structure of the simulator's projects: versions with release dates, components,
due dates and issue links, added to the generated issues as their ground truth.

A separate random stream per project (never the issue generator's), so adding these leaves every
other generated field exactly as it was. Versions ship every VERSION_DAYS; a done issue is in the
first version released after its resolution (most of them: some fixed work never names one), an
open issue may name the next unreleased version. About a tenth of the issues link to an earlier
issue of the project, and Jira shows a link on both issues: outward on one, inward on the other.
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

from .workspace import BASE_DATE, SITE, parse_jira_datetime

if TYPE_CHECKING:
    from .workspace import ProjectSpec, SimProject, Workspace

VERSION_DAYS = 21
UNRELEASED_VERSIONS = 2
COMPONENT_NAMES = ("API", "Web", "Mobile", "Billing", "Search")
LINK_TYPES = {
    "Blocks": {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
    "Relates": {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"},
    "Duplicate": {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
}


def project_versions(project: SimProject, spec: ProjectSpec, window_days: int) -> list[dict[str, Any]]:
    """The project's versions, oldest first, as `GET /rest/api/3/project/{key}/versions` answers."""
    base = 20000 + int(project.id) % 1000 * 100
    first_day = (BASE_DATE - timedelta(days=window_days)).date()
    released_count = max(1, window_days // VERSION_DAYS)
    out = []
    for n in range(released_count + UNRELEASED_VERSIONS):
        day = first_day + timedelta(days=VERSION_DAYS * (n + 1))
        released = day <= BASE_DATE.date() and n < released_count
        vid = str(base + n)
        out.append(
            {
                "self": f"{SITE}/rest/api/3/version/{vid}",
                "id": vid,
                "description": f"{spec.name} release {n + 1}",
                "name": f"{spec.key} {1 + n // 10}.{n % 10}",
                "archived": False,
                "released": released,
                "startDate": (day - timedelta(days=VERSION_DAYS)).isoformat(),
                "releaseDate": day.isoformat(),
                "overdue": not released and day < BASE_DATE.date(),
                "userStartDate": _user_date(day - timedelta(days=VERSION_DAYS)),
                "userReleaseDate": _user_date(day),
                "projectId": int(project.id),
            }
        )
    return out


def project_components(project: SimProject, spec: ProjectSpec) -> list[dict[str, Any]]:
    base = 30000 + int(project.id) % 1000 * 10
    return [
        {
            "self": f"{SITE}/rest/api/3/component/{base + n}",
            "id": str(base + n),
            "name": name,
            "description": f"{name} of {spec.name}",
        }
        for n, name in enumerate(COMPONENT_NAMES[: 3 + len(spec.key) % 3])
    ]


def _user_date(day: date) -> str:
    return f"{day.day}/{day:%b}/{day:%y}"


def _version_ref(version: dict[str, Any]) -> dict[str, Any]:
    keys = ("self", "id", "description", "name", "archived", "released", "releaseDate")
    return {k: version[k] for k in keys if k in version}


def _issue_ref(issue: dict[str, Any]) -> dict[str, Any]:
    fields = issue["fields"]
    return {
        "id": issue["id"],
        "key": issue["key"],
        "self": issue["self"],
        "fields": {k: fields[k] for k in ("summary", "status", "priority", "issuetype")},
    }


def add_structure(ws: Workspace, spec: ProjectSpec, issues: list[dict[str, Any]], window_days: int) -> None:
    """Set components, fixVersions, duedate and issuelinks on the project's generated issues."""
    rng = Random(f"{ws.seed}:structure:{spec.key}")
    project = ws.project(spec.key)
    assert project is not None
    versions = project_versions(project, spec, window_days)
    ws.versions[spec.key] = versions
    components = project_components(project, spec)
    ws.components[spec.key] = components
    release_days = [date.fromisoformat(v["releaseDate"]) for v in versions]
    next_unreleased = next((v for v in versions if not v["released"]), None)
    link_id = int(project.id) * 100
    for n, issue in enumerate(issues):
        fields = issue["fields"]
        picked = rng.sample(components, k=rng.choice([0, 1, 1, 2]))
        fields["components"] = [{k: c[k] for k in ("self", "id", "name", "description")} for c in picked]
        resolved = fields.get("resolutiondate")
        fix: list[dict[str, Any]] = []
        if resolved and rng.random() < 0.85:
            day = parse_jira_datetime(resolved).date()
            index = next((i for i, d in enumerate(release_days) if d >= day), None)
            if index is not None:
                fix = [_version_ref(versions[index])]
        elif not resolved and next_unreleased is not None and rng.random() < 0.3:
            fix = [_version_ref(next_unreleased)]
        fields["fixVersions"] = fix
        if rng.random() < 0.2:
            created = parse_jira_datetime(fields["created"]).date()
            fields["duedate"] = (created + timedelta(days=rng.randrange(3, 60))).isoformat()
        if n > 0 and rng.random() < 0.1:
            target = issues[rng.randrange(n)]
            link_type = LINK_TYPES[rng.choice(["Blocks", "Blocks", "Relates", "Duplicate"])]
            link_id += 1
            type_ref = {**link_type, "self": f"{SITE}/rest/api/3/issueLinkType/{link_type['id']}"}
            common = {"id": str(link_id), "self": f"{SITE}/rest/api/3/issueLink/{link_id}", "type": type_ref}
            fields["issuelinks"] = [*fields["issuelinks"], {**common, "outwardIssue": _issue_ref(target)}]
            target["fields"]["issuelinks"] = [
                *target["fields"]["issuelinks"],
                {**common, "inwardIssue": _issue_ref(issue)},
            ]
