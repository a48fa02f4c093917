"""One team's share of a batch of live events, as the consumer gathers it before applying."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from jira_onboarding.jira.models import JiraIssue
from jira_onboarding.records import TrackedProject


@dataclass
class TeamBatch:
    """One team's share of a batch: its tracked projects and its issues' current state in Jira."""

    team_id: str
    tracked: dict[str, TrackedProject] = field(default_factory=dict)
    current: dict[str, JiraIssue] = field(default_factory=dict)  # issue id -> state now in Jira
    failure: Exception | None = None
    changed_projects: set[str] = field(default_factory=set)
    applied_by_project: Counter[str] = field(default_factory=Counter)
    applied: int = 0
    dropped: int = 0
    jira_calls: int = 0
