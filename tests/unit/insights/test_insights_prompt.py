"""The prompt template: a Jira section only when Jira data is there, and None-safe throughout."""

from __future__ import annotations

from datetime import UTC, datetime

from jira_onboarding.insights.gather import (
    BoardInsightData,
    GithubInsightData,
    InsightData,
    JiraInsightData,
    LinkageInsightData,
)
from jira_onboarding.insights.prompt import load_template, render_prompt, render_template

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def data(jira: JiraInsightData | None) -> InsightData:
    return InsightData(
        team_id="team-acme",
        generated_at=NOW,
        window_days=30,
        members=5,
        matched_members=4,
        github=GithubInsightData(merged_prs=12, median_hours_to_merge=20.5),
        jira=jira,
    )


JIRA = JiraInsightData(
    snapshot_id="snap-1",
    computed_at=NOW,
    boards=[
        BoardInsightData(
            board_id=1,
            name="ALPHA board",
            velocity_average_points=21.5,
            velocity_trend="up",
            last_sprint_name="S3",
            last_completion_rate=0.8,
            last_committed=10,
            last_added=2,
            last_removed=1,
            last_carried_over=2,
            cycle_time_days=3.5,
        )
    ],
    linkage=LinkageInsightData(
        merged_prs=12,
        linked_prs=9,
        linkage_rate=0.75,
        unlinked_reasons={"no_key": 2, "unknown_project": 1, "key_not_found": 0},
    ),
)


def test_prompt_template_is_package_data():
    assert "{{#jira}}" in load_template()


def test_prompt_with_jira_renders_the_jira_section():
    prompt = render_prompt(data(JIRA))

    assert "Jira (metrics snapshot snap-1" in prompt
    assert "Board ALPHA board: velocity 21.5 points" in prompt
    assert "9 of 12 merged PRs link a Jira issue of the team (75%)" in prompt
    assert "no key 2, key of an unknown project 1" in prompt
    assert "{{" not in prompt and "$" not in prompt


def test_prompt_without_jira_has_no_jira_section():
    prompt = render_prompt(data(None))

    assert "Jira (metrics snapshot" not in prompt
    assert "linkage" not in prompt
    assert "12 (median 20.5 hours" in prompt
    assert "{{" not in prompt and "$" not in prompt


def test_prompt_with_missing_values_says_n_a():
    # Given a snapshot with no linkage and a board with nothing known, and no GitHub data
    sparse = JiraInsightData(snapshot_id="snap-2", boards=[BoardInsightData(board_id=7)], linkage=None)
    bare = InsightData(team_id="t", generated_at=NOW, window_days=30, github=None, jira=sparse)

    prompt = render_prompt(bare)

    assert "Board 7: velocity n/a points" in prompt
    assert "merged in the last 30 days: n/a (median n/a hours" in prompt
    assert "computed n/a" in prompt
    assert "None" not in prompt


def test_render_template_drops_an_empty_section_and_fills_missing_names():
    text = "a=$a\n{{#s}}\nb=$b c=$c\n{{/s}}\nend $missing\n"

    assert render_template(text, {"a": 1}, {"s": None}) == "a=1\nend n/a\n"
    assert render_template(text, {"a": None}, {"s": {"b": 2, "c": None}}) == "a=n/a\nb=2 c=n/a\nend n/a\n"
