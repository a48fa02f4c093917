"""One-off: move pre-envelope connections off Secrets Manager and give every team its nightly
schedule. Invoke with {} and then with the returned cursor until the cursor is null."""

from jira_onboarding import lambda_init

with lambda_init():  # no garbage collection while the imports run: see lambda_init
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jira_onboarding.logic.connection.migrate import migrate_connections
    from jira_onboarding.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return migrate_connections(
        event.get("cursor"), time_left_s=lambda: context.get_remaining_time_in_millis() / 1000
    ).model_dump()
