"""GET /jira/projects (ListJiraProjectsFunction)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id
from jira_onboarding.choice_contracts import JiraProjectsResponse

router = Router()


@router.get(
    "/jira/projects",
    summary="A page of the connected Jira site's projects: size, style, tracked, how a first sync goes",
    **contract(200, "One page of the site's projects.", 400, 409, 502),
)
def get_jira_projects(
    start_at: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    max_results: Annotated[int, Query(ge=1, le=100)] = 50,
) -> JiraProjectsResponse:
    from jira_onboarding.logic.connection.projects import list_site_projects  # lazy: httpx only here

    return list_site_projects(current_team_id(router), start_at, max_results)
