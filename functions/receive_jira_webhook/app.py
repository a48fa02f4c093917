"""POST /jira/webhooks/{connection_id}: a Jira webhook delivery; authenticated by its signature,
queued, answered at once."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.logic.live.receive import receive_webhook
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return receive_webhook(event)
