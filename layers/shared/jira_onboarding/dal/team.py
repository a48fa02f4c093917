"""All of one team's data access, one store per aggregate, for logic that touches several."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.models import Model

from jira_onboarding.dal.boards import BoardStore
from jira_onboarding.dal.connections import ConnectionStore
from jira_onboarding.dal.issues import IssueStore
from jira_onboarding.dal.items import as_dict, require_team
from jira_onboarding.dal.metrics import MetricsStore
from jira_onboarding.dal.people import PeopleStore
from jira_onboarding.dal.projects import ProjectStore
from jira_onboarding.dal.runs import RunStore
from jira_onboarding.dal.tables import (
    InsightItem,
    JiraBoardItem,
    JiraConnectionItem,
    JiraIssueItem,
    JiraSprintItem,
    JiraUserItem,
    MetricsSnapshotItem,
    OnboardingRunItem,
    PullRequestItem,
    TeamMemberItem,
    TrackedProjectItem,
    bind_tables,
)


class TeamStores:
    """One team's stores. Constructed per invocation; each store is scoped to the team."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        self.connection = ConnectionStore(team_id)
        self.runs = RunStore(team_id)
        self.projects = ProjectStore(team_id)
        self.issues = IssueStore(team_id)
        self.boards = BoardStore(team_id)
        self.people = PeopleStore(team_id)
        self.metrics = MetricsStore(team_id)


_DUMPED: tuple[tuple[str, type[Model]], ...] = (
    ("connection", JiraConnectionItem),
    ("run", OnboardingRunItem),
    ("tracked_project", TrackedProjectItem),
    ("team_member", TeamMemberItem),
    ("jira_user", JiraUserItem),
    ("jira_board", JiraBoardItem),
    ("jira_sprint", JiraSprintItem),
    ("jira_issue", JiraIssueItem),
    ("pull_request", PullRequestItem),
    ("metrics_snapshot", MetricsSnapshotItem),
    ("insight", InsightItem),
)


def dump_team(team_id: str) -> Iterator[dict[str, Any]]:
    """Every stored item of this team, tagged with its table, for `--dump`."""
    require_team(team_id)
    bind_tables()
    for name, model in _DUMPED:
        for item in model.query(team_id):
            yield {"table": name, **as_dict(item)}
