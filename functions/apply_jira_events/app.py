"""SQS consumer: apply queued Jira events (one refetch per batch), reporting partial batch failures."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.logic.live.apply import apply_jira_events
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return apply_jira_events(event, context)
