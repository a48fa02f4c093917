"""The personal data reports queue's one sender, and its one message model."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel

from jira_onboarding import aws
from jira_onboarding.settings import get_settings

SQS_MAX_DELAY_S = 900
SQS_MAX_BATCH = 10


class PrivacyMessage(BaseModel):
    """`team`: report one team's accounts (from its saved cursor); `dispatch`: queue the due teams
    from a scan cursor (the dispatcher's continuation when its own time ran short)."""

    kind: Literal["team", "dispatch"]
    team_id: str | None = None
    cursor: dict[str, Any] | None = None


def parse_message(body: str) -> PrivacyMessage:
    message = PrivacyMessage.model_validate(json.loads(body))
    if message.kind == "team" and not message.team_id:
        raise ValueError("a team message names its team")
    return message


def _body(message: PrivacyMessage) -> str:
    return message.model_dump_json(exclude_none=True)


def send(message: PrivacyMessage, *, delay_s: float = 0.0) -> None:
    """Queue `message` on PRIVACY_REPORTS_QUEUE_URL, delivered after `delay_s` (SQS: 0-900 s)."""
    settings = get_settings()
    aws.client("sqs", settings.region).send_message(
        QueueUrl=settings.privacy_reports_queue_url,
        MessageBody=_body(message),
        DelaySeconds=max(0, min(SQS_MAX_DELAY_S, math.ceil(delay_s))),
    )


def send_teams(team_ids: list[str]) -> None:
    """One `team` message per team, ten to a SendMessageBatch call."""
    settings = get_settings()
    client = aws.client("sqs", settings.region)
    for start in range(0, len(team_ids), SQS_MAX_BATCH):
        chunk = team_ids[start : start + SQS_MAX_BATCH]
        answer = client.send_message_batch(
            QueueUrl=settings.privacy_reports_queue_url,
            Entries=[
                {"Id": str(n), "MessageBody": _body(PrivacyMessage(kind="team", team_id=team))}
                for n, team in enumerate(chunk)
            ],
        )
        if answer.get("Failed"):
            # The next day's dispatch queues them again (they stay due): no retry loop here.
            raise RuntimeError(f"{len(answer['Failed'])} personal data report messages were not queued")
