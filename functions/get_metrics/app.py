"""GET /jira/metrics and GET /jira/insights: the team's latest metrics snapshot and insights."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.api.get_metrics import router
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
