"""The shared library's shape: no function over 60 lines, no module over 400 lines, no import cycle
between its packages (parsed with ast, nothing imported). The named exceptions below are the ones
left; each says why, and the list only shrinks."""

from __future__ import annotations

import ast
from collections import defaultdict

from .support import REPO_ROOT

LIBRARY = REPO_ROOT / "layers" / "shared" / "jira_onboarding"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
# (module relative to the library, function) -> why it is still longer
LONG_FUNCTIONS = {}
LARGE_MODULES: dict[str, str] = {}


def _modules() -> list[tuple[str, ast.Module, int]]:
    return [
        (
            str(path.relative_to(LIBRARY)),
            ast.parse(path.read_text(encoding="utf-8")),
            len(path.read_text().splitlines()),
        )
        for path in sorted(LIBRARY.rglob("*.py"))
    ]


def test_library_functions_are_at_most_60_lines() -> None:
    long = {
        (module, node.name): node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for module, tree, _ in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[operator]
    }
    assert {key for key in long if key not in LONG_FUNCTIONS} == set(), long
    assert set(LONG_FUNCTIONS) <= set(long), "a named exception is short now: drop it from LONG_FUNCTIONS"


def test_library_modules_are_at_most_400_lines() -> None:
    large = {module: lines for module, _, lines in _modules() if lines > MAX_MODULE_LINES}
    assert {m for m in large if m not in LARGE_MODULES} == set(), large
    assert set(LARGE_MODULES) <= set(large), "a named exception is small now: drop it from LARGE_MODULES"


def _unit(module: str) -> str:
    """What a module belongs to: a package (`dal`, `jira`, ...), a feature of logic/ (`logic/run`,
    `logic/live`, ...: the features are the units there), or a top-level module itself."""
    parts = module.removesuffix(".py").split("/")
    if parts[0] == "logic" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]


def _imported_modules(tree: ast.Module) -> set[str]:
    """Every jira_onboarding module a module imports, anywhere in it: at the top, inside functions
    (lazy imports) and under TYPE_CHECKING all count (a cycle behind a lazy import is still one)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("jira_onboarding.")}


def _module_path(name: str) -> str | None:
    """`jira_onboarding.logic.run.plan` -> `logic/run/plan.py`; None when it names no module
    (a class or function imported from one)."""
    relative = name.split(".")[1:]
    if (LIBRARY.joinpath(*relative).with_suffix(".py")).is_file():
        return "/".join(relative) + ".py"
    if (LIBRARY.joinpath(*relative) / "__init__.py").is_file():
        return "/".join(relative) + "/__init__.py"
    return None


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, tree, _ in _modules():
        for name in _imported_modules(tree):
            target = _module_path(name)
            if target is not None and target != module and not target.endswith("/__init__.py"):
                graph[module].add(target)
    return graph


def _import_graph() -> dict[str, set[str]]:
    """The units' graph (see `_unit`): which package or feature imports which."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in _module_graph().items():
        for target in targets:
            if _unit(target) != _unit(module):
                graph[_unit(module)].add(_unit(target))
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each cycle of a directed graph found by depth-first search, as `a -> b -> a`."""
    cycles = []
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for succ in sorted(graph.get(node, ())):
            if state.get(succ) == 1:
                cycles.append(" -> ".join([*path[path.index(succ) :], succ]))
            elif succ not in state:
                visit(succ)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_find_cycles_names_a_cycle_and_passes_a_one_way_graph() -> None:
    assert find_cycles({"logic/run": {"logic/live"}, "logic/live": {"logic/run"}}) == [
        "logic/live -> logic/run -> logic/live"
    ]
    assert find_cycles({"logic/connection": {"logic/live", "logic/run"}, "logic/live": {"logic/run"}}) == []


def test_library_packages_and_features_import_each_other_without_a_cycle() -> None:
    cycles = find_cycles(_import_graph())
    assert cycles == [], "import cycles between the library's packages:\n" + "\n".join(cycles)


def test_library_modules_import_each_other_without_a_cycle() -> None:
    cycles = find_cycles(_module_graph())
    assert cycles == [], "import cycles between the library's modules:\n" + "\n".join(cycles)


# The features of logic/, lowest first: each may import only those before it (and the library's
# other packages). Reading it top down is reading the product from Jira up to the routes.
FEATURE_ORDER = [
    "logic/jira_access",  # the one gateway to Jira: credentials, site, budget, client
    "logic/people",  # users and members
    "logic/metrics",  # sprint metrics and insights from the stored data
    "logic/live",  # webhooks, events, live sprints and metrics
    "logic/run",  # an onboarding run's steps and status (a selection re-registers the webhook)
    "logic/nightly",  # the nightly fan-out starts runs
    "logic/privacy",  # personal data: reported to Atlassian, erased (closed) or refetched (updated)
    "logic/connection",  # register, disconnect, migrate, the site's projects
]


def test_logic_features_depend_one_way_in_feature_order() -> None:
    graph = _import_graph()
    features = {unit for unit in graph if unit.startswith("logic/")} | {
        target for targets in graph.values() for target in targets if target.startswith("logic/")
    }
    assert features <= set(FEATURE_ORDER), (
        f"a feature missing from FEATURE_ORDER: {features - set(FEATURE_ORDER)}"
    )
    upward = [
        f"{unit} -> {target}"
        for unit in FEATURE_ORDER
        for target in graph.get(unit, ())
        if target in FEATURE_ORDER and FEATURE_ORDER.index(target) > FEATURE_ORDER.index(unit)
    ]
    assert upward == [], "a feature imports one above it in FEATURE_ORDER:\n" + "\n".join(upward)


def test_logic_holds_features_only() -> None:
    loose = sorted(p.name for p in (LIBRARY / "logic").glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules of logic/ outside a feature package: {loose}"


def test_sprint_metrics_is_pure_computation() -> None:
    assert _import_graph()["sprint_metrics"] <= {"jira", "records"}, (
        "sprint_metrics reads no table, no setting"
    )
