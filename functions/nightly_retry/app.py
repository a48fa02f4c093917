"""A team's EventBridge Scheduler schedule: re-run its failed and stuck syncs, refresh complete ones."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import NightlyTeamEvent
    from jira_onboarding.logic.nightly.retry import start_team_night
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = NightlyTeamEvent.model_validate(event)
    return start_team_night(request.team_id, request.scheduled_time).model_dump()
