"""The state machine's bound on a segment's loop is the library's (derived, not copied)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jira_onboarding.logic.run.segment import MAX_SEGMENT_INVOCATIONS

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "jira_onboarding.asl.json"


def _states(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield from (node.get("States") or {}).items()
        for value in node.values():
            yield from _states(value)
    elif isinstance(node, list):
        for value in node:
            yield from _states(value)


def test_more_pages_bounds_the_segment_loop_with_the_librarys_bound():
    states = dict(_states(json.loads(ASL.read_text(encoding="utf-8"))))
    rules = [r for r in states["More Pages?"]["Choices"] if r.get("Variable") == "$.invocations"]
    assert [r["NumericGreaterThanEquals"] for r in rules] == [MAX_SEGMENT_INVOCATIONS]
    bound = states[rules[0]["Next"]]
    assert bound["Next"] == "Mark Project Failed"
    assert bound["Parameters"]["error"]["Error"] == "JiraPagingError"
    assert str(MAX_SEGMENT_INVOCATIONS) in bound["Parameters"]["error"]["Cause"]
