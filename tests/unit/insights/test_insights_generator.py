"""Insight generation: Bedrock's Converse API through botocore's Stubber, and the offline fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from jira_onboarding.insights.bedrock import MAX_TOKENS, SYSTEM_PROMPT
from jira_onboarding.insights.gather import (
    GithubInsightData,
    InsightData,
    JiraInsightData,
    LinkageInsightData,
)
from jira_onboarding.insights.generator import generate_insights, offline_insights
from jira_onboarding.insights.prompt import render_prompt

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
DATA = InsightData(
    team_id="team-acme",
    generated_at=NOW,
    window_days=30,
    members=5,
    github=GithubInsightData(merged_prs=10, median_hours_to_merge=12.0),
    jira=JiraInsightData(
        snapshot_id="snap-1",
        linkage=LinkageInsightData(
            merged_prs=10,
            linked_prs=4,
            linkage_rate=0.4,
            unlinked_reasons={"no_key": 4, "unknown_project": 2, "key_not_found": 0},
        ),
    ),
)


def converse_response(text: str, stop: str = "end_turn") -> dict:
    """The documented Converse response shape."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 812, "outputTokens": 164, "totalTokens": 976},
        "metrics": {"latencyMs": 1200},
    }


def expected_request() -> dict:
    return {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": render_prompt(DATA)}]}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0.2},
    }


@pytest.fixture
def bedrock():
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_generate_insights_uses_bedrock_converse_answer(bedrock):
    client, stubber = bedrock
    answer = {
        "insights": [
            {
                "title": "Link more PRs to Jira",
                "detail": "Only 40% link.",
                "category": "traceability",
                "severity": "warning",
                "evidence": ["4 of 10 merged PRs linked"],
            },
            {"title": "PRs merge fast", "detail": "12 h median.", "category": "delivery", "severity": "info"},
        ]
    }
    stubber.add_response(
        "converse", converse_response("```json\n" + json.dumps(answer) + "\n```"), expected_request()
    )

    result = generate_insights(DATA, bedrock_client=client, model_id=MODEL)

    assert result.generator == "bedrock" and result.model_id == MODEL
    assert [i.title for i in result.insights] == ["Link more PRs to Jira", "PRs merge fast"]


def test_generate_insights_falls_back_offline_on_an_invalid_answer(bedrock):
    client, stubber = bedrock
    # severity outside the allowed values, no title: not the InsightAnswer shape
    stubber.add_response(
        "converse", converse_response(json.dumps({"insights": [{"severity": "huge"}]})), expected_request()
    )

    result = generate_insights(DATA, bedrock_client=client, model_id=MODEL)

    assert result.generator == "offline"
    assert "not the insights JSON" in result.fallback_reason
    assert result.insights == offline_insights(DATA)


def test_generate_insights_falls_back_offline_when_bedrock_stops_early(bedrock):
    client, stubber = bedrock
    stubber.add_response(
        "converse", converse_response('{"insights": [', stop="max_tokens"), expected_request()
    )

    result = generate_insights(DATA, bedrock_client=client, model_id=MODEL)

    assert result.generator == "offline" and "max_tokens" in result.fallback_reason


def test_generate_insights_falls_back_offline_on_a_bedrock_error(bedrock):
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403)

    result = generate_insights(DATA, bedrock_client=client, model_id=MODEL)

    assert result.generator == "offline" and "AccessDeniedException" in result.fallback_reason


def test_generate_insights_is_offline_when_no_model_is_configured():
    result = generate_insights(DATA, model_id="")

    assert result.generator == "offline" and result.fallback_reason is None
    assert result.insights[0].severity == "critical"  # 40% linkage
    assert result.insights[0].title == "40% of merged PRs link a Jira issue"


def test_offline_insights_without_jira_suggest_connecting_it():
    insights = offline_insights(DATA.model_copy(update={"jira": None}))

    assert insights[0].title.startswith("Connect and sync Jira")
    assert all(i.category != "traceability" for i in insights)


@pytest.mark.parametrize(("lead", "severity"), [(3.5, "info"), (21.0, "warning"), (None, "info")])
def test_offline_insights_say_how_long_done_work_waits_for_its_release(lead, severity) -> None:
    from jira_onboarding.insights.gather import ReleaseInsightData

    releases = ReleaseInsightData(
        released_versions=4, done_issues_released=30, lead_time_days_median=lead, last_release="ALPHA 1.3"
    )
    data = DATA.model_copy(update={"jira": DATA.jira.model_copy(update={"releases": releases})})

    (insight,) = [i for i in offline_insights(data) if "release" in i.title or "released" in i.title]

    assert insight.severity == severity and insight.category == "delivery"
    assert "30 done issues in 4 released versions" in insight.evidence
    if lead is not None:
        assert f"{lead} days" in insight.title
