"""One EventBridge Scheduler schedule per team: the nightly fan-out.

Why a schedule per team, not one nightly function that lists the teams: at 100,000 teams one
invocation can neither read every team nor start their executions inside Lambda's 15 minutes, and
whichever teams sort last are the ones cut off, night after night. A schedule per team has no
list to read and no order: Scheduler starts each team on its own, somewhere in a flexible window
after 02:00 UTC (spread evenly, so the fleet's Lambda concurrency and StartExecution rate stay
bounded; bench/bench_fleet.py), and retries a failed invocation (RetryPolicy). Schedules cost
nothing to keep and $1.00 per million invocations (14 million a month free). The run id is derived
from the schedule's nominal time, the same for every retry of one night (logic/nightly/retry.py).

The schedule is created when a team registers its Jira connection (and, for teams connected
before this, by logic/connection/migrate.py), and deleted when the team disconnects Jira
(logic/connection/disconnect.py).
"""

from __future__ import annotations

import hashlib
import json
import re

from jira_onboarding import aws
from jira_onboarding.observability import logger
from jira_onboarding.settings import get_settings

NIGHTLY_CRON = "cron(0 2 * * ? *)"
# Scheduler puts its own time in the target's input: the night's nominal time, not when it fired.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# Retries of one night's start: the run id refuses a repeat, so retrying is always safe.
RETRY_POLICY = {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 4 * 3600}


def schedule_name_for(team_id: str) -> str:
    """A valid schedule name (64 characters of [0-9A-Za-z_.-]) unique per team."""
    digest = hashlib.sha256(team_id.encode()).hexdigest()[:16]
    readable = re.sub(r"[^0-9A-Za-z_.-]", "-", team_id)[:40]
    return f"{readable}-{digest}"


def schedule_input(team_id: str) -> str:
    return json.dumps({"team_id": team_id, "scheduled_time": SCHEDULED_TIME})


def ensure_nightly_schedule(team_id: str) -> bool:
    """Create (or bring up to date) the team's nightly schedule; False when none is configured."""
    settings = get_settings()
    if not (
        settings.nightly_schedule_group
        and settings.nightly_function_arn
        and settings.nightly_schedule_role_arn
    ):
        return False
    client = aws.client("scheduler", settings.region)
    definition = {
        "Name": schedule_name_for(team_id),
        "GroupName": settings.nightly_schedule_group,
        "ScheduleExpression": NIGHTLY_CRON,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": settings.nightly_window_minutes},
        "Target": {
            "Arn": settings.nightly_function_arn,
            "RoleArn": settings.nightly_schedule_role_arn,
            "Input": schedule_input(team_id),
            "RetryPolicy": RETRY_POLICY,
        },
        "State": "ENABLED",
    }
    try:
        client.create_schedule(**definition)
    except client.exceptions.ConflictException:
        client.update_schedule(**definition)
    logger.info("Nightly schedule in place", extra={"schedule": definition["Name"]})
    return True


def delete_nightly_schedule(team_id: str) -> bool:
    """Delete the team's nightly schedule; False when none is configured or there was none."""
    settings = get_settings()
    if not settings.nightly_schedule_group:
        return False
    client = aws.client("scheduler", settings.region)
    name = schedule_name_for(team_id)
    try:
        client.delete_schedule(Name=name, GroupName=settings.nightly_schedule_group)
    except client.exceptions.ResourceNotFoundException:
        return False
    logger.info("Nightly schedule deleted", extra={"schedule": name})
    return True
