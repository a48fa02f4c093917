"""GET /jira/members, PUT and DELETE /jira/members/{member_id}/match: fix a member's Jira match by hand."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.api.member_matches import router
    from jira_onboarding.api.resolver import build_resolver
    from jira_onboarding.observability import logger, metrics, tracer

# Only this function's routes (template.yaml gives the others to other functions).
app = build_resolver(router)


# clear_state: a warm container's next invocation starts without this one's keys (team, run).
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
