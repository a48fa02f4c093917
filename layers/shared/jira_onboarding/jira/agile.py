"""The Agile 1.0 endpoints the sync reads (boards, their configuration, sprints): `startAt`/`isLast`
pages through the guarded `iter_offset_pages`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jira_onboarding.errors import JiraBadRequestError
from jira_onboarding.jira.models import JiraBoard, JiraSprint
from jira_onboarding.jira.paging import PagingLimits, iter_offset_pages

AGILE_PAGE_SIZE = 50
# No real project has thousands of boards, nor a board 100,000 sprints.
AGILE_LIMITS = PagingLimits(max_pages=2_000, max_items=100_000)


class AgileEndpoints:
    """Mixed into JiraClient, which provides `request` and `_limits`."""

    request: Callable[..., Any]
    _limits: Callable[[PagingLimits], PagingLimits]

    def _iter_agile(self, path: str, *, what: str, params: dict[str, Any]) -> Iterator[Any]:
        pages = iter_offset_pages(
            lambda start: self.request(
                "GET", path, what=what, params={**params, "startAt": start, "maxResults": AGILE_PAGE_SIZE}
            ),
            what=what,
            limits=self._limits(AGILE_LIMITS),
        )
        for values in pages:
            yield from values

    def boards(self, project_key: str) -> list[JiraBoard]:
        values = self._iter_agile(
            "/rest/agile/1.0/board",
            what=f"the boards of project {project_key}",
            params={"projectKeyOrId": project_key},
        )
        return [board for value in values if (board := JiraBoard.from_payload(value)) is not None]

    def board_estimation_field(self, board_id: int) -> str | None:
        """The field the board itself estimates with: the reliable story-point field per board."""
        body = self.request(
            "GET",
            f"/rest/agile/1.0/board/{board_id}/configuration",
            what=f"the configuration of board {board_id}",
        )
        estimation = body.get("estimation") if isinstance(body, dict) else None
        field = estimation.get("field") if isinstance(estimation, dict) else None
        field_id = field.get("fieldId") if isinstance(field, dict) else None
        return field_id if isinstance(field_id, str) and len(field_id) <= 100 else None

    def sprints(self, board: JiraBoard) -> list[JiraSprint]:
        """Active, closed and future sprints of a scrum board; a kanban board has none."""
        if board.type != "scrum":
            return []
        values = self._iter_agile(
            f"/rest/agile/1.0/board/{board.id}/sprint",
            what=f"the sprints of board {board.id}",
            params={"state": "active,closed,future"},
        )
        try:
            return [sprint for value in values if (sprint := JiraSprint.from_payload(value)) is not None]
        except JiraBadRequestError as exc:
            # Jira answers 400 "The board does not support sprints" for boards without them.
            if "support sprints" in exc.reason:
                return []
            raise
