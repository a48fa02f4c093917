"""State machine step "Finish Run": record the run's outcome once every project has one."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import RunOutcome
    from jira_onboarding.logic.run.finish import finish_run
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    outcome = RunOutcome.model_validate(event)
    logger.append_keys(team_id=outcome.team_id, run_id=outcome.run_id)
    return finish_run(outcome)
