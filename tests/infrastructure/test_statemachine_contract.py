"""The state machine definition agrees with itself, the template and the shared library.

Checked for every state machine in template.yaml, in every scope (the top level, each Map's
ItemProcessor/Iterator, each Parallel branch): transitions resolve, every state is reachable, Choices
decide, loops can exit, every error name is one something can actually raise, and the `${...}`
placeholders, DefinitionSubstitutions and invoke permissions line up.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .render_asl import StateMachineSource, state_machine_sources
from .support import (
    FUNCTION_TYPES,
    TEMPLATE_PATH,
    as_list,
    properties,
    ref_name,
    referenced_resources,
    resources,
)

SOURCES = {source.logical_id: source for source in state_machine_sources(TEMPLATE_PATH)}
MACHINES = sorted(SOURCES)
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# Lambda's own error names: service errors, a timed-out sandbox, a crashed runtime.
LAMBDA_ERROR = re.compile(r"^(Lambda|Sandbox|Runtime)\.[A-Za-z][A-Za-z0-9]*$")
NEEDS_NEXT_OR_END = {"Task", "Pass", "Wait", "Map", "Parallel"}


@dataclass
class Scope:
    where: str
    start_at: Any
    states: dict[str, dict[str, Any]]


def iter_scopes(definition: dict[str, Any], where: str = "top level") -> Iterator[Scope]:
    states = definition.get("States") or {}
    yield Scope(where, definition.get("StartAt"), states)
    for name, state in states.items():
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                yield from iter_scopes(processor, f"{where} > {name!r} (Map)")
        elif state.get("Type") == "Parallel":
            for index, branch in enumerate(state.get("Branches") or []):
                yield from iter_scopes(branch, f"{where} > {name!r} (Parallel branch {index})")


def transitions(state: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, target) for every way out of a state: Next, Choice rules, Default, Catchers."""
    out: list[tuple[str, Any]] = []
    if "Next" in state:
        out.append(("Next", state["Next"]))
    for index, rule in enumerate(state.get("Choices") or []):
        out.append((f"Choices[{index}].Next", rule.get("Next")))
    if "Default" in state:
        out.append(("Default", state["Default"]))
    for index, catcher in enumerate(state.get("Catch") or []):
        out.append((f"Catch[{index}].Next", catcher.get("Next")))
    return out


def edges(scope: Scope) -> dict[str, set[str]]:
    return {
        name: {t for _, t in transitions(state) if isinstance(t, str) and t in scope.states}
        for name, state in scope.states.items()
    }


def strongly_connected_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative enough for state machines: recursion depth = number of states)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return components


def definition(logical_id: str) -> dict[str, Any]:
    return json.loads(SOURCES[logical_id].text)


def all_states(logical_id: str) -> Iterator[tuple[Scope, str, dict[str, Any]]]:
    for scope in iter_scopes(definition(logical_id)):
        for name, state in scope.states.items():
            yield scope, name, state


def error_classes() -> set[str]:
    """Names of the exception classes defined in jira_onboarding.errors (the Lambda error names)."""
    from jira_onboarding import errors

    return {
        obj.__name__
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    }


def state_machine_properties(logical_id: str) -> dict[str, Any]:
    return properties(resources()[logical_id])


pytestmark = pytest.mark.parametrize("machine", MACHINES)


def test_statemachine_definition_is_found(machine: str) -> None:
    source: StateMachineSource = SOURCES[machine]
    assert source.path is None or source.path.is_file()
    assert definition(machine).get("States"), f"{machine}: the definition has no States"


def test_statemachine_transitions_resolve_within_scope(machine: str) -> None:
    problems = []
    for scope in iter_scopes(definition(machine)):
        if scope.start_at not in scope.states:
            problems.append(f"{scope.where}: StartAt {scope.start_at!r} is not a state of this scope")
        for name, state in scope.states.items():
            for label, target in transitions(state):
                if target not in scope.states:
                    problems.append(f"{scope.where}: {name!r} {label} -> {target!r} is not in this scope")
    assert not problems, "\n".join(problems)


def test_statemachine_states_end_or_continue(machine: str) -> None:
    problems = []
    for scope, name, state in all_states(machine):
        kind = state.get("Type")
        has_next, ends = "Next" in state, state.get("End") is True
        if kind in NEEDS_NEXT_OR_END and has_next == ends:
            problems.append(f"{scope.where}: {kind} {name!r} needs exactly one of Next and End: true")
        if kind in {"Choice", "Succeed", "Fail"} and (has_next or "End" in state):
            problems.append(f"{scope.where}: {kind} {name!r} must not have Next/End")
    assert not problems, "\n".join(problems)


def test_statemachine_every_state_reachable(machine: str) -> None:
    problems = []
    for scope in iter_scopes(definition(machine)):
        graph = edges(scope)
        seen: set[str] = set()
        todo = [scope.start_at] if scope.start_at in scope.states else []
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node] - seen)
        problems += [
            f"{scope.where}: {n!r} is unreachable from {scope.start_at!r}"
            for n in scope.states
            if n not in seen
        ]
    assert not problems, "\n".join(problems)


def test_statemachine_choices_are_live(machine: str) -> None:
    """No dead Choice: it has rules, a Default (never States.NoChoiceMatched), and a real decision."""
    problems = []
    for scope, name, state in all_states(machine):
        if state.get("Type") != "Choice":
            continue
        rules = state.get("Choices") or []
        if not rules:
            problems.append(f"{scope.where}: Choice {name!r} has no Choices")
        if "Default" not in state:
            problems.append(f"{scope.where}: Choice {name!r} has no Default (fails with NoChoiceMatched)")
        targets = {t for _, t in transitions(state)}
        if len(targets) < 2:
            problems.append(f"{scope.where}: Choice {name!r} goes to {targets} whatever it sees")
    assert not problems, "\n".join(problems)


def test_statemachine_loops_have_exit(machine: str) -> None:
    """Every cycle (e.g. a Choice that goes back to a Task) contains a Choice that can leave it."""
    problems = []
    for scope in iter_scopes(definition(machine)):
        graph = edges(scope)
        for component in strongly_connected_components(graph):
            node = next(iter(component))
            if len(component) == 1 and node not in graph[node]:
                continue  # not a loop
            exits = [
                n
                for n in component
                if scope.states[n].get("Type") == "Choice"
                and any(t not in component for _, t in transitions(scope.states[n]))
            ]
            if not exits:
                problems.append(f"{scope.where}: the loop {sorted(component)} has no Choice that leaves it")
    assert not problems, "\n".join(problems)


def test_statemachine_error_names_are_known(machine: str) -> None:
    known = error_classes()
    problems = []
    for scope, name, state in all_states(machine):
        for field in ("Retry", "Catch"):
            for index, rule in enumerate(state.get(field) or []):
                for error in rule.get("ErrorEquals") or []:
                    if error.startswith("States.") or LAMBDA_ERROR.match(error) or error in known:
                        continue
                    problems.append(
                        f"{scope.where}: {name!r} {field}[{index}] names {error!r}, which is neither "
                        "States.*, a Lambda.* service error, nor a class in jira_onboarding.errors"
                    )
    assert not problems, "\n".join(problems)


def test_statemachine_jira_retries_name_exactly_the_transient_errors(machine: str) -> None:
    from jira_onboarding.errors import transient_error_names

    transient = transient_error_names()
    assert transient, "no Jira error class is marked transient"
    retries = [
        (f"{scope.where}: {name!r} Retry[{index}]", rule.get("ErrorEquals") or [])
        for scope, name, state in all_states(machine)
        for index, rule in enumerate(state.get("Retry") or [])
        if any(error.startswith("Jira") for error in rule.get("ErrorEquals") or [])
    ]
    problems = [f"{where} names {names}, not {transient}" for where, names in retries if names != transient]
    assert not problems, "\n".join(problems)


def test_statemachine_states_all_is_alone_and_last(machine: str) -> None:
    problems = []
    for scope, name, state in all_states(machine):
        for field in ("Retry", "Catch"):
            rules = state.get(field) or []
            for index, rule in enumerate(rules):
                names = rule.get("ErrorEquals") or []
                if not names:
                    problems.append(f"{scope.where}: {name!r} {field}[{index}] has an empty ErrorEquals")
                if "States.ALL" in names and (len(names) > 1 or index != len(rules) - 1):
                    problems.append(
                        f"{scope.where}: {name!r} {field}[{index}]: States.ALL must be alone and last"
                    )
    assert not problems, "\n".join(problems)


def test_statemachine_placeholders_match_substitutions(machine: str) -> None:
    used = set(PLACEHOLDER.findall(SOURCES[machine].text))
    declared = set(SOURCES[machine].substitutions)
    assert used - declared == set(), f"{machine}: placeholders without a DefinitionSubstitutions entry"
    assert declared - used == set(), f"{machine}: DefinitionSubstitutions the definition never uses"


def test_statemachine_function_substitutions_have_invoke_policy(machine: str) -> None:
    res = resources()
    invokable = {
        name
        for policy in as_list(state_machine_properties(machine).get("Policies"))
        if isinstance(policy, dict) and isinstance(policy.get("LambdaInvokePolicy"), dict)
        for name in [ref_name(policy["LambdaInvokePolicy"].get("FunctionName"))]
        if name
    }
    problems = []
    for key, value in SOURCES[machine].substitutions.items():
        for target in referenced_resources(value):
            if (res.get(target) or {}).get("Type") in FUNCTION_TYPES and target not in invokable:
                problems.append(f"{key}: {machine} has no LambdaInvokePolicy for {target}")
    assert not problems, "\n".join(problems)


def test_segments_run_as_many_at_once_as_the_planner_assumes(machine: str) -> None:
    from jira_onboarding.logic.run import plan as plan_sync

    maps = [state for _, name, state in all_states(machine) if name == "Sync Segments"]
    assert [m.get("MaxConcurrency") for m in maps] == [plan_sync.SEGMENT_CONCURRENCY]
