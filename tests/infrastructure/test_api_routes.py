"""Each HTTP function serves exactly the routes template.yaml gives it (issue 15): its resolver is
built from its own router, so a route the template sends elsewhere is a 404 there."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from local_harness.api_events import http_api_event

from .support import function_folder, serverless_functions

_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


def _template_routes() -> dict[str, set[tuple[str, str]]]:
    """Function logical id -> {(METHOD, path)} of its HttpApi events."""
    routes: dict[str, set[tuple[str, str]]] = {}
    for logical_id, props in serverless_functions().items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                route = event.get("Properties") or {}
                routes.setdefault(logical_id, set()).add((str(route["Method"]).upper(), str(route["Path"])))
    return routes


TEMPLATE_ROUTES = _template_routes()
ALL_ROUTES = sorted(set().union(*TEMPLATE_ROUTES.values()))
# The webhook receiver answers Jira, not the API's clients: a plain handler authenticated by each
# delivery's signature (tests/integration/test_live_security.py), with no resolver to check here.
RESOLVER_ROUTES = {f: r for f, r in TEMPLATE_ROUTES.items() if f != "ReceiveJiraWebhookFunction"}


@cache
def _app_module(logical_id: str) -> ModuleType:
    folder = function_folder(serverless_functions()[logical_id])
    assert folder is not None
    name = f"route_check_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _served_routes(resolver: Any) -> set[tuple[str, str]]:
    schema = resolver.get_openapi_schema()
    return {
        (method.upper(), path)
        for path, item in (schema.paths or {}).items()
        for method in ("get", "put", "post", "delete", "patch", "head", "options")
        if getattr(item, method, None) is not None
    }


def test_template_gives_every_api_route_to_one_function() -> None:
    assert len(TEMPLATE_ROUTES) == 7
    assert sum(len(r) for r in TEMPLATE_ROUTES.values()) == len(ALL_ROUTES) == 16


@pytest.mark.parametrize("function", sorted(RESOLVER_ROUTES))
def test_api_function_serves_exactly_its_template_routes(function: str) -> None:
    assert _served_routes(_app_module(function).app) == TEMPLATE_ROUTES[function]


@pytest.mark.parametrize("function", sorted(RESOLVER_ROUTES))
def test_api_function_answers_404_for_a_route_it_was_not_given(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    app = _app_module(function).app
    for method, path in ALL_ROUTES:
        if (method, path) in TEMPLATE_ROUTES[function]:
            continue
        concrete = _PATH_PARAMETER.sub("x", path)
        params = dict.fromkeys(_PATH_PARAMETER.findall(path), "x")
        event = http_api_event(method, concrete, path, params, body=None, claims={"team_id": "t"})
        answer = app.resolve(event, _Context())
        assert answer["statusCode"] == 404, f"{function} serves {method} {path}"


class _Context:
    function_name = "route-check"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:route-check"
    aws_request_id = "route-check"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def test_every_function_handler_clears_log_state_per_invocation() -> None:
    import ast

    for logical_id, resource in serverless_functions().items():
        folder = function_folder(resource)
        assert folder is not None
        tree = ast.parse((folder / "app.py").read_text(encoding="utf-8"))
        decorators = [
            d
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler"
            for d in node.decorator_list
        ]
        injects = [d for d in decorators if "inject_lambda_context" in ast.unparse(d)]
        assert injects, f"{logical_id}: the handler has no logger.inject_lambda_context"
        keywords = {k.arg: k.value for d in injects if isinstance(d, ast.Call) for k in d.keywords}
        assert "clear_state" in keywords and ast.literal_eval(keywords["clear_state"]) is True, (
            f"{logical_id}: inject_lambda_context needs clear_state=True"
        )


def test_openapi_document_describes_exactly_the_template_routes() -> None:
    # The webhook receiver's route too: its router is read by the document only (api/jira_webhooks.py).
    import json

    from local_harness.openapi import OPENAPI_PATH

    paths = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert documented == set(ALL_ROUTES)
