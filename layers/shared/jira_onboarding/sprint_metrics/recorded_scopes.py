"""Sprint commitment recorded at start: where a sprint's start was seen live, the metrics use the
scope recorded then (logic/live/sprints.py) instead of reconstructing it from history."""

from __future__ import annotations

from typing import Any

from jira_onboarding.sprint_metrics.sprints import Count, SprintMetricsReport


def apply_recorded_scopes(
    report: SprintMetricsReport, scopes: dict[int, dict[str, Any]]
) -> SprintMetricsReport:
    """Sprints whose start was seen live (logic/live/sprints.py): their commitment is the scope
    recorded then, exact, instead of the one reconstructed from the Sprint field's history."""
    for board in report.boards:
        for sprint in board.sprints:
            scope = scopes.get(sprint.sprint_id)
            if not scope:
                continue
            keys = sorted(
                scope.get("issue_keys") or [],
                key=lambda k: (k.rpartition("-")[0], int(k.rpartition("-")[2] or 0)),
            )
            sprint.committed = Count(
                issues=len(keys),
                points=round(float(scope.get("points") or 0.0), 2),
                unestimated=int(scope.get("unestimated") or 0),
                keys=keys,
            )
            sprint.commitment_basis = "recorded at start"
    return report
