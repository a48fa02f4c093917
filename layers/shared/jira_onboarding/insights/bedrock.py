"""Amazon Bedrock through the Converse API (`bedrock-runtime` `converse`): one user message with
the rendered prompt; the answer's text must be the JSON `InsightAnswer`."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from jira_onboarding.aws import thread_session
from jira_onboarding.insights.models import InsightAnswer
from jira_onboarding.settings import get_settings

SYSTEM_PROMPT = (
    "You write short, specific engineering-delivery insights from the figures you are given. "
    "Answer with the requested JSON only."
)
MAX_TOKENS = 1500
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class BedrockAnswerError(Exception):
    """Bedrock could not be asked, or its answer is not the JSON we asked for."""


def bedrock_client() -> Any:
    settings = get_settings()
    # The metrics step has a 120 s budget: fail over to the offline generator well before it.
    return thread_session().create_client(
        "bedrock-runtime",
        region_name=settings.region,
        config=Config(read_timeout=60, connect_timeout=5, retries={"max_attempts": 2, "mode": "standard"}),
    )


def converse_request(prompt: str, model_id: str) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0.2},
    }


def parse_answer(response: dict[str, Any]) -> InsightAnswer:
    """The insights in a Converse response, or BedrockAnswerError saying what was wrong."""
    stop = response.get("stopReason")
    if stop != "end_turn":
        raise BedrockAnswerError(f"Bedrock stopped with {stop!r}, not end_turn")
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    text = "".join(block.get("text", "") for block in content if isinstance(block, dict)).strip()
    if not text:
        raise BedrockAnswerError("Bedrock answered no text")
    try:
        return InsightAnswer.model_validate(json.loads(_FENCE.sub("", text)))
    except (ValueError, ValidationError) as exc:
        raise BedrockAnswerError(f"Bedrock's answer is not the insights JSON: {exc}") from exc


def ask_bedrock(prompt: str, *, model_id: str, client: Any = None) -> InsightAnswer:
    client = client or bedrock_client()
    try:
        response = client.converse(**converse_request(prompt, model_id))
    except (ClientError, BotoCoreError) as exc:
        raise BedrockAnswerError(f"Bedrock call failed: {exc}") from exc
    return parse_answer(response)
