"""After onboarding, random schedules of edits, creations, deletions and sprint moves, starts and
closes, delivered with duplicates (up to 3 of each), reordering and delay, leave the store equal to
the simulator's ground truth once the queue drains. With 10% of deliveries dropped, the next
nightly run restores it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jira_onboarding.dal.live import LiveStore

from jira_simulator.control import Change
from jira_simulator.webhooks import DeliveryFaults
from tests.integration.live_support import TRACKED, LiveWorld, live_world, sprint_states, stored_live, truth

PROJECTS = ["ALPHA", "BETA", "OPS"]  # OPS is not tracked: its events are counted and dropped
STATUSES = [None, "To Do", "In Progress", "In Review", "Done"]

operation = st.one_of(
    st.tuples(
        st.just("edit"),
        st.sampled_from(PROJECTS),
        st.integers(0, 99),
        st.text("abcxyz ", min_size=1, max_size=10),
        st.sampled_from([None, 1.0, 3.0, 8.0]),
        st.sampled_from(STATUSES),
    ),
    st.tuples(
        st.just("create"), st.sampled_from(PROJECTS), st.integers(0, 3), st.sampled_from([None, 2.0, 5.0])
    ),
    st.tuples(st.just("delete"), st.sampled_from(PROJECTS), st.integers(0, 99)),
    st.tuples(st.just("move"), st.sampled_from(PROJECTS), st.integers(0, 99), st.integers(0, 3)),
    st.tuples(st.just("start"), st.sampled_from(PROJECTS)),
    st.tuples(st.just("close"), st.sampled_from(PROJECTS)),
)


def _open_sprints(world: LiveWorld, project: str) -> list[int]:
    ws = world.simulator.ws
    board = ws.project(project).board_id  # type: ignore[union-attr]
    return [s["id"] for s in ws.sprints.get(board, []) if s["state"] != "closed"]


def _apply(world: LiveWorld, op: tuple[Any, ...]) -> list[Change]:
    control, ws = world.control, world.simulator.ws
    kind, project = op[0], op[1]
    issues = ws.issues_by_project[project]
    sprints = _open_sprints(world, project)
    if kind == "edit" and issues:
        issue = issues[op[2] % len(issues)]
        return control.edit_issue(issue["key"], summary=op[3], points=op[4], status=op[5])
    if kind == "create":
        sprint = sprints[op[2] % len(sprints)] if sprints and op[2] else None
        return control.create_issue(project, "Created live", points=op[3], sprint_id=sprint)
    if kind == "delete" and len(issues) > 5:
        return control.delete_issue(issues[op[2] % len(issues)]["key"])
    if kind == "move" and issues and sprints:
        target = sprints[op[3] % len(sprints)] if op[3] else None
        return control.move_to_sprint(issues[op[2] % len(issues)]["key"], target)
    board = ws.project(project).board_id  # type: ignore[union-attr]
    states = {s["id"]: s["state"] for s in ws.sprints.get(board, [])}
    if kind == "start" and states and "active" not in states.values() and "future" in states.values():
        return control.start_sprint(min(i for i, s in states.items() if s == "future"))
    if kind == "close" and "active" in states.values():
        return control.close_sprint(next(i for i, s in states.items() if s == "active"))
    return []


def _assert_ground_truth(world: LiveWorld) -> None:
    assert stored_live(world, TRACKED) == truth(world, TRACKED)
    simulated, stored = sprint_states(world, TRACKED)
    assert stored == simulated
    scopes = LiveStore(world.team_id).sprint_scopes()
    # Every sprint started live had its scope recorded then, equal to the simulator's.
    for sprint_id, scope in world.control.scope_at_start.items():
        assert scopes[sprint_id]["issue_keys"] == scope["issue_keys"], sprint_id
        assert scopes[sprint_id]["points"] == scope["points"], sprint_id


@pytest.fixture(scope="module")
def world() -> Iterator[LiveWorld]:
    faults = DeliveryFaults(duplicates_max=3, reorder=True)
    with live_world(faults=faults, seed=7) as live:
        yield live


@pytest.mark.slow
def test_live_updates_store_equals_ground_truth_after_any_schedule(world: LiveWorld):
    stats = {"schedules": 0, "deliveries": 0}

    @settings(max_examples=6, deadline=None)
    @given(schedule=st.lists(operation, min_size=1, max_size=10))
    def after_any_schedule(schedule: list) -> None:
        for op in schedule:
            world.hooks.publish(_apply(world, op))
            if op[0] == "start":
                # A sprint's scope is recorded when its start is applied, from Jira as it is then
                # (logic/live/sprints.py): a sprint closed, or its issues re-estimated, before its
                # start event is processed is seen so, and the metrics fall back to the Sprint
                # history. The scope checked below is the one of a start delivered before the next change.
                world.deliver()
        world.deliver()
        _assert_ground_truth(world)
        stats["schedules"] += 1
        stats["deliveries"] = len(world.hooks.sent)

    after_any_schedule()
    # and the schedules did deliver events (a property that tests nothing passes)
    assert stats["schedules"] >= 1
    assert stats["deliveries"] > stats["schedules"]
