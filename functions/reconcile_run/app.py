"""State machine step: one count call tells whether Jira lost issues while the run fetched them."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import StepInput
    from jira_onboarding.errors import bounded_errors
    from jira_onboarding.logic.run.reconcile import reconcile_run
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
@bounded_errors
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    step = StepInput.model_validate(event)
    logger.append_keys(team_id=step.team_id, run_id=step.run_id)
    return reconcile_run(step)
