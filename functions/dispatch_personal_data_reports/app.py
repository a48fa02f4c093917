"""Daily: queue a personal data report (Atlassian's reporting API) for every team that is due."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.logic.privacy.dispatch import dispatch_reports
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    time_left_s = lambda: context.get_remaining_time_in_millis() / 1000.0  # noqa: E731
    return dispatch_reports(time_left_s=time_left_s).model_dump()
