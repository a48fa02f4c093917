"""The execution's state does not grow with the number of issues: the plan that travels in it
names segments (their JQL and cursors live in the tracked-project items), and a project has at
most 1 + MAX_BACKFILL_RANGES segments however big it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from jira_onboarding.contracts import MAX_PROJECTS_PER_RUN, PhasePlan, RunPlan, SegmentRef
from jira_onboarding.logic.run.ids import new_run_id
from jira_onboarding.logic.run.plan import MAX_BACKFILL_RANGES, full_segments

STATE_LIMIT = 256 * 1024  # Step Functions' payload limit; States.DataLimitExceeded cannot be caught
NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


class _OldProjectJira:
    """Answers the planner's one question (the oldest issue's creation date): ten years ago."""

    def search_page(self, jql: str, **_: object) -> SimpleNamespace:
        return SimpleNamespace(issues=[{"fields": {"created": "2016-12-01T09:00:00.000+0000"}}])


def test_state_of_a_run_of_50_projects_of_500000_issues_stays_under_256_kb() -> None:
    # Given a team selecting the most projects a run takes, each of 500,000 issues, planned by
    # the real planner into the real models
    team_id = "team-" + "f" * 32
    keys = [f"PROJ{n:02d}"[:10] for n in range(MAX_PROJECTS_PER_RUN)]
    run_id = new_run_id(team_id, keys, NOW)
    phases: dict[str, list[SegmentRef]] = {"recent": [], "backfill": []}
    for key in keys:
        segments = full_segments(_OldProjectJira(), key, 500_000, NOW)  # type: ignore[arg-type]
        assert len(segments) == 1 + MAX_BACKFILL_RANGES
        for name, segment in segments.items():
            phases[segment.phase].append(SegmentRef(project_key=key, segment=name))
    plan = RunPlan(
        team_id=team_id,
        run_id=run_id,
        phases=[PhasePlan(name=name, segments=items) for name, items in phases.items()],
    )

    # When it sits in the state as the state machine keeps it (execution input + $.plan)
    state = {"team_id": team_id, "run_id": run_id, "project_keys": keys, "plan": plan.model_dump(mode="json")}
    size = len(json.dumps(state, separators=(",", ":")).encode())

    # Then it is well under the limit, and would be the same for 5 million issues a project
    assert size < STATE_LIMIT * 0.9, size
    bigger = full_segments(_OldProjectJira(), "PROJ00", 5_000_000, NOW)  # type: ignore[arg-type]
    assert len(bigger) == 1 + MAX_BACKFILL_RANGES
