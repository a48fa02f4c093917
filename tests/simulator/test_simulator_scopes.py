"""The scope table (jira_simulator/scopes.py) covers every simulated Jira route, agrees with the
official specs where they name a scope, and NEEDED_SCOPES follows the routes the product calls."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from jira_simulator import JiraSimulator, spec
from jira_simulator.scopes import NEEDED_SCOPES, OFFLINE, PERSONAL_DATA, PRODUCT_ENDPOINTS, REQUIRED_SCOPES

LIBRARY = Path(__file__).resolve().parents[2] / "layers" / "shared" / "jira_onboarding"


def _jira_routes(sim: JiraSimulator) -> dict[str, re.Pattern[str]]:
    return {r.endpoint: r.regex for r in sim._routes if not r.template.startswith("/_sim/")}


def test_scopes_every_simulated_jira_route_has_an_entry_and_no_entry_is_stale(sim):
    routes = _jira_routes(sim)
    assert set(routes) == set(REQUIRED_SCOPES)


def _spec_scopes(endpoint: str) -> frozenset[str] | None:
    method, path = endpoint.split(" ", 1)
    if not path.startswith("/rest/"):
        return None  # Atlassian's platform (the personal data reporting API), not Jira's specs
    if path.startswith("/rest/agile/"):
        op = spec.load_spec("software")["paths"][path][method.lower()]
        named = {s for entry in op.get("security", []) for s in entry.get("OAuth2", [])}
        software = frozenset(s for s in named if s.endswith(":jira-software"))
        return software or None  # GET /board names none in the 2022 copy
    path = path.replace("/rest/api/2/", "/rest/api/3/")  # v2 twins: the v3 operation's scopes
    op = spec.load_spec("platform")["paths"][path][method.lower()]
    current = [e for e in op.get("x-atlassian-oauth2-scopes", []) if e.get("state") == "Current"]
    assert current, f"{endpoint}: the spec names no current scopes entry"
    return frozenset(current[0]["scopes"])


def test_scopes_table_agrees_with_the_official_specs():
    disagree = {
        endpoint: (sorted(scopes), sorted(named))
        for endpoint, scopes in REQUIRED_SCOPES.items()
        if (named := _spec_scopes(endpoint)) is not None and named != scopes
    }
    assert disagree == {}
    assert REQUIRED_SCOPES["GET /rest/agile/1.0/board"] == {"read:board-scope:jira-software"}


def _literal_paths(tree: ast.Module) -> set[str]:
    """Every `/rest/...` string or f-string in the code (docstrings left out), `{x}` for a value."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in parts:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{x}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if text.startswith("/rest/"):
            found.add(text.split("?")[0])
    return found


def test_scopes_product_endpoints_are_the_routes_the_library_calls(sim):
    paths: set[str] = set()
    for file in LIBRARY.rglob("*.py"):
        paths |= _literal_paths(ast.parse(file.read_text()))
    routes = _jira_routes(sim)
    called = set()
    for path in paths:
        # The first route that matches, as the router picks (a literal path before a template).
        template = next((e.split(" ", 1)[1] for e, regex in routes.items() if regex.match(path)), None)
        assert template, f"the library calls {path}, which the simulator does not serve"
        called.add(template)
    assert called == {e.split(" ", 1)[1] for e in PRODUCT_ENDPOINTS}
    assert set(PRODUCT_ENDPOINTS) <= set(REQUIRED_SCOPES)


def test_scopes_needed_are_the_product_calls_scopes_and_offline_access():
    assert set(NEEDED_SCOPES) == {OFFLINE, PERSONAL_DATA}.union(
        *(REQUIRED_SCOPES[e] for e in PRODUCT_ENDPOINTS)
    )
    assert set(NEEDED_SCOPES) == {
        "offline_access",
        "report:personal-data",
        "read:jira-work",
        "read:jira-user",
        "manage:jira-webhook",
        "read:board-scope:jira-software",
        "read:board-scope.admin:jira-software",
        "read:sprint:jira-software",
    }
