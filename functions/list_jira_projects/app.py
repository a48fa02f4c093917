"""GET /jira/projects: a page of the connected Jira site's projects, for the team to choose from."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.api.list_jira_projects import router
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
