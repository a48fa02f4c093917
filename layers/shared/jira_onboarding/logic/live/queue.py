"""The live-updates queue's one sender: every message goes through `send`, serialized by
`events.queue_body` (whole if it fits, the event reduced if not)."""

from __future__ import annotations

import math

from jira_onboarding import aws
from jira_onboarding.logic.live.events import LiveMessage, queue_body
from jira_onboarding.settings import get_settings

SQS_MAX_DELAY_S = 900


def send(message: LiveMessage, *, delay_s: float = 0.0) -> None:
    """Queue `message` on LIVE_UPDATES_QUEUE_URL, delivered after `delay_s` (SQS allows 0-900 s)."""
    settings = get_settings()
    aws.client("sqs", settings.region).send_message(
        QueueUrl=settings.live_updates_queue_url,
        MessageBody=queue_body(message),
        DelaySeconds=max(0, min(SQS_MAX_DELAY_S, math.ceil(delay_s))),
    )
