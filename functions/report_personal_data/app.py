"""SQS consumer: report one team's stored Jira accounts to Atlassian and erase or refresh them."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.logic.privacy.consume import report_personal_data
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return report_personal_data(event, context)
