"""A team's stored Jira boards and sprints (what the sprint metrics are computed over)."""

from __future__ import annotations

from collections.abc import Iterable

from jira_onboarding.dal.items import require_team
from jira_onboarding.dal.tables import JiraBoardItem, JiraSprintItem, bind_tables
from jira_onboarding.jira.models import JiraBoard, JiraSprint


class BoardStore:
    """One team's boards (with each board's estimation field) and their sprints."""

    def __init__(self, team_id: str) -> None:
        self.team_id = require_team(team_id)
        bind_tables()

    def save_boards(self, boards: Iterable[tuple[JiraBoard, str | None]]) -> None:
        with JiraBoardItem.batch_write() as batch:
            for board, estimation_field in boards:
                batch.save(
                    JiraBoardItem(
                        self.team_id,
                        board.id,
                        name=board.name,
                        board_type=board.type,
                        project_key=board.project_key,
                        estimation_field=estimation_field,
                    )
                )

    def save_sprints(self, project_key: str, sprints: Iterable[JiraSprint]) -> None:
        with JiraSprintItem.batch_write() as batch:
            for sprint in sprints:
                batch.save(
                    JiraSprintItem(
                        self.team_id,
                        sprint.id,
                        board_id=sprint.board_id,
                        project_key=project_key,
                        name=sprint.name,
                        state=sprint.state,
                        goal=sprint.goal,
                        start_date=sprint.start_date,
                        end_date=sprint.end_date,
                        complete_date=sprint.complete_date,
                    )
                )

    def list_boards(self) -> list[tuple[JiraBoard, str | None]]:
        """Every stored board with its estimation field."""
        return [
            (
                JiraBoard(id=int(i.board_id), name=i.name, type=i.board_type, project_key=i.project_key),
                i.estimation_field,
            )
            for i in JiraBoardItem.query(self.team_id)
        ]

    def list_sprints(self, board_id: int | None = None) -> list[JiraSprint]:
        """Every stored sprint of the team (or of one board), in sprint id order."""
        condition = JiraSprintItem.board_id == board_id if board_id is not None else None
        return [
            JiraSprint(
                id=int(i.sprint_id),
                name=i.name,
                state=i.state,
                originBoardId=int(i.board_id) if i.board_id is not None else None,
                goal=i.goal,
                startDate=i.start_date,
                endDate=i.end_date,
                completeDate=i.complete_date,
            )
            for i in JiraSprintItem.query(self.team_id, filter_condition=condition)
        ]
