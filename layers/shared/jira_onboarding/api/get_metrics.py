"""GET /jira/metrics and GET /jira/insights (GetMetricsFunction)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from jira_onboarding.api.answers import contract
from jira_onboarding.api.guards import current_team_id
from jira_onboarding.contracts import InsightsResponse
from jira_onboarding.metrics_contracts import MetricsResponse

router = Router()


@router.get(
    "/jira/metrics",
    summary="The team's latest Jira sprint metrics and PR linkage, with their basis",
    **contract(
        200,
        "The latest snapshot's figures.",
        404,
        meanings={404: "No metrics yet (before the first sync ends)."},
    ),
)
def get_jira_metrics() -> MetricsResponse:
    from jira_onboarding.logic.metrics.compute import latest_metrics  # lazy: cold starts

    return latest_metrics(current_team_id(router))


@router.get(
    "/jira/insights",
    summary="The team's latest insights, best first",
    **contract(
        200,
        "The latest snapshot's insights.",
        404,
        meanings={404: "No insights yet (before the first sync ends)."},
    ),
)
def get_jira_insights() -> InsightsResponse:
    from jira_onboarding.logic.metrics.compute import latest_insights  # lazy: cold starts

    return latest_insights(current_team_id(router))
