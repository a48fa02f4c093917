"""State machine step: mark a failed project (from the Map's Catch), or finish the whole run."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.contracts import ProjectFailure, RunOutcome
    from jira_onboarding.logic.finish import finish_run, mark_project_failed
    from jira_onboarding.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(team_id=event.get("team_id"), run_id=event.get("run_id"))
    if "project_key" in event:
        return mark_project_failed(ProjectFailure.model_validate(event))
    return finish_run(RunOutcome.model_validate(event))
