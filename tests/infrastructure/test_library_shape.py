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
    """The package a module belongs to (`dal`, `logic`, ...), or the top-level module itself."""
    first = module.split("/")[0]
    return first.removesuffix(".py")


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, tree, _ in _modules():
        source = _unit(module)
        for node in ast.walk(tree):  # lazy imports inside functions count too
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] != "jira_onboarding" or len(parts) < 2 or parts[1] == source:
                    continue
                if (LIBRARY / parts[1]).is_dir() or (LIBRARY / f"{parts[1]}.py").is_file():
                    graph[source].add(parts[1])
    return graph


def test_library_packages_import_each_other_without_a_cycle() -> None:
    graph = _import_graph()
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
    assert cycles == [], "import cycles between the library's packages:\n" + "\n".join(cycles)


def test_sprint_metrics_is_pure_computation() -> None:
    assert _import_graph()["sprint_metrics"] <= {"jira", "records"}, (
        "sprint_metrics reads no table, no setting"
    )
