"""The insight prompt: a template file (package data) with a Jira section rendered only when present.

A tiny renderer on `string.Template`: `$name` placeholders, and `{{#section}} ... {{/section}}` blocks
kept only when the section has values. Missing and None values render as "n/a", so a half-filled
snapshot still yields a readable prompt instead of a KeyError.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jira_onboarding.insights.gather import InsightData

TEMPLATE_NAME = "prompt_template.txt"
MISSING = "n/a"
_SECTION = re.compile(r"\{\{#(\w+)\}\}\n?(.*?)\{\{/\1\}\}\n?", re.DOTALL)


class _Values(dict):
    """Template values where a missing or None value reads "n/a"."""

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        return MISSING if value is None else str(value)

    def __missing__(self, key: str) -> str:  # pragma: no cover - __getitem__ covers it
        return MISSING


def render_template(
    text: str, values: Mapping[str, Any], sections: Mapping[str, Mapping[str, Any] | None]
) -> str:
    """Keep a `{{#name}}` block only when `sections[name]` is a non-empty mapping, then fill in
    `$placeholders` from `values` and the kept sections."""
    merged: dict[str, Any] = dict(values)

    def block(match: re.Match[str]) -> str:
        section = sections.get(match.group(1))
        if not section:
            return ""
        merged.update(section)
        return match.group(2)

    kept = _SECTION.sub(block, text)
    return string.Template(kept).substitute(_Values(merged))


def load_template() -> str:
    return resources.files("jira_onboarding.insights").joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.0f}%"


def _board_lines(data: InsightData) -> str:
    lines = []
    for board in data.jira.boards if data.jira else []:
        lines.append(
            f"- Board {board.name or board.board_id}: velocity "
            f"{board.velocity_average_points or MISSING} points "
            f"per closed sprint (trend {board.velocity_trend or MISSING}); last closed sprint "
            f"{board.last_sprint_name or MISSING} completed "
            f"{_percent(board.last_completion_rate) or MISSING} of its "
            "final scope, committed "
            f"{board.last_committed if board.last_committed is not None else MISSING}, "
            f"added after start {board.last_added if board.last_added is not None else MISSING}, "
            f"removed {board.last_removed if board.last_removed is not None else MISSING}, "
            f"carried over {board.last_carried_over if board.last_carried_over is not None else MISSING}; "
            f"active sprint {board.active_sprint_name or MISSING} "
            f"{_percent(board.active_completion_rate) or MISSING} "
            "done; median cycle time "
            f"{board.cycle_time_days if board.cycle_time_days is not None else MISSING} days "
            f"({board.cycle_time_basis or MISSING}); unestimated "
            f"{_percent(board.unestimated_share) or MISSING}; "
            f"bugs {_percent(board.bug_share) or MISSING}; issues carried over twice or more "
            f"{board.carried_over_repeatedly if board.carried_over_repeatedly is not None else MISSING}."
        )
    return "\n".join(lines) or "- No board has an active or closed sprint."


def render_prompt(data: InsightData, template: str | None = None) -> str:
    values: dict[str, Any] = {
        "team_id": data.team_id,
        "members": data.members,
        "matched_members": data.matched_members,
        "window_days": data.window_days,
        "merged_prs": data.github.merged_prs if data.github else None,
        "pr_median_hours": data.github.median_hours_to_merge if data.github else None,
    }
    jira: dict[str, Any] | None = None
    if data.jira is not None:
        link = data.jira.linkage
        jira = {
            "snapshot_id": data.jira.snapshot_id,
            "computed_at": data.jira.computed_at.isoformat() if data.jira.computed_at else None,
            "boards": _board_lines(data),
            "linked_prs": link.linked_prs if link else None,
            "merged_prs_in_window": link.merged_prs if link else None,
            "linkage_rate": _percent(link.linkage_rate) if link else None,
            "no_key": link.unlinked_reasons.get("no_key") if link else None,
            "unknown_project": link.unlinked_reasons.get("unknown_project") if link else None,
            "key_not_found": link.unlinked_reasons.get("key_not_found") if link else None,
            "weakest_repository": link.weakest_repository if link else None,
            "done_without_pr": link.done_without_pr if link else None,
            "done_issues": link.done_issues if link else None,
            "done_without_pr_share": _percent(link.done_without_pr_share) if link else None,
            "linked_median_hours": link.linked_median_hours if link else None,
            "unlinked_median_hours": link.unlinked_median_hours if link else None,
        }
    return render_template(template if template is not None else load_template(), values, {"jira": jira})
