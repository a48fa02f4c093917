"""The platform endpoints about the site's projects (the project list, a project's versions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jira_onboarding.jira.agile import AGILE_LIMITS
from jira_onboarding.jira.paging import PagingLimits, iter_offset_pages
from jira_onboarding.jira.structure import ProjectVersion, read_versions


class ProjectEndpoints:
    """Mixed into JiraClient, which provides `request` and `_limits`."""

    request: Callable[..., Any]
    _limits: Callable[[PagingLimits], PagingLimits]

    def project_versions(self, project_key: str) -> list[ProjectVersion]:
        """The project's versions with their release dates (`GET /rest/api/3/project/{key}/versions`,
        a bare array: Jira does not page it)."""
        path = f"/rest/api/3/project/{project_key}/versions"
        payload = self.request("GET", path, what=f"the versions of project {project_key}")
        return read_versions(payload)

    def projects(self) -> list[dict[str, str]]:
        """Every project the credentials see, `{key, name}` by key (`GET /rest/api/3/project/search`)."""
        pages = iter_offset_pages(
            lambda start: self.request(
                "GET",
                "/rest/api/3/project/search",
                what="the project list",
                params={"startAt": start, "maxResults": 50, "orderBy": "key"},
            ),
            what="the project list",
            limits=self._limits(AGILE_LIMITS),
        )
        found = []
        for values in pages:
            for value in values:
                key = value.get("key") if isinstance(value, dict) else None
                if isinstance(key, str):
                    name = value.get("name")
                    found.append({"key": key, "name": name if isinstance(name, str) else key})
        return found
