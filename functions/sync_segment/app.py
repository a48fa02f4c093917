"""State machine step (Sync Segment): sync one segment of a project from its saved cursor until
it is done or the invocation's time budget is spent."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import ProjectStepInput
    from jira_onboarding.errors import bounded_errors
    from jira_onboarding.logic.run.segment import lambda_time_left, sync_segment
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
@bounded_errors
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    step = ProjectStepInput.model_validate(event)
    logger.append_keys(team_id=step.team_id, run_id=step.run_id, project_key=step.project_key)
    return sync_segment(step, time_left_s=lambda_time_left(context)).model_dump()
