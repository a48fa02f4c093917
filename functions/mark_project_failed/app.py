"""State machine step "Mark Project Failed": a project's segment failed (the Map's Catch)."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import ProjectFailure
    from jira_onboarding.logic.run.finish import mark_project_failed
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    failure = ProjectFailure.model_validate(event)
    logger.append_keys(team_id=failure.team_id, run_id=failure.run_id, project_key=failure.project_key)
    return mark_project_failed(failure)
