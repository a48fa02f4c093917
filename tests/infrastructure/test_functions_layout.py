"""Every function the template declares has the layout the project relies on.

Functions are discovered from template.yaml (never listed here): each is a thin handler in
functions/<folder>/app.py on the shared layer, with a sample event, and the template's tables,
policies and API keep every team to its own data.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .support import (
    EVENTS_DIR,
    FUNCTIONS_DIR,
    REPO_ROOT,
    SHARED_LAYER_DIR,
    TABLE_TYPES,
    as_list,
    function_folder,
    function_globals,
    function_property,
    properties,
    ref_name,
    resources,
    resources_of_type,
    serverless_functions,
    shared_layer_ids,
)

FUNCTIONS = sorted(serverless_functions())
MAX_HANDLER_LINES = 80
TENANT_KEY = "team_id"


def _props(logical_id: str) -> dict[str, Any]:
    return serverless_functions()[logical_id]


def _folder(logical_id: str) -> Path:
    folder = function_folder(_props(logical_id))
    assert folder is not None, f"{logical_id}: CodeUri must be a local folder (functions/<name>/)"
    return folder


def _handler(logical_id: str) -> tuple[Path, str]:
    """(module file, function name) named by the function's Handler (its own or Globals')."""
    handler = function_property(_props(logical_id), "Handler")
    assert isinstance(handler, str) and "." in handler, (
        f"{logical_id}: Handler {handler!r} is not module.func"
    )
    module, _, name = handler.rpartition(".")
    return _folder(logical_id) / Path(*module.split(".")).with_suffix(".py"), name


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def _requirement_key(text: str, where: str) -> tuple[str, tuple[str, ...], str, str]:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:  # pragma: no cover - reported as a failure
        pytest.fail(f"{where}: {text!r} is not a requirement: {exc}")
    pins = list(req.specifier)
    assert len(pins) == 1 and pins[0].operator == "==", f"{where}: {text!r} must pin one exact version (==)"
    return canonicalize_name(req.name), tuple(sorted(req.extras)), str(req.specifier), str(req.marker or "")


# ---------------------------------------------------------------- per function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_code_uri_is_a_function_folder(function: str) -> None:
    folder = _folder(function)
    assert folder.parent == FUNCTIONS_DIR, f"{function}: CodeUri must be functions/<name>/, not {folder}"
    assert folder.is_dir(), f"{function}: {folder.relative_to(REPO_ROOT)} does not exist"
    assert (folder / "app.py").is_file(), f"{function}: {folder.relative_to(REPO_ROOT)}/app.py does not exist"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_handler_is_defined(function: str) -> None:
    module, name = _handler(function)
    assert module.is_file(), f"{function}: handler module {module.relative_to(REPO_ROOT)} does not exist"
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    assert name in _top_level_names(tree), f"{function}: {module.relative_to(REPO_ROOT)} defines no {name!r}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_handler_is_thin(function: str) -> None:
    app = _folder(function) / "app.py"
    if not app.is_file():
        pytest.fail(f"{function}: {app.relative_to(REPO_ROOT)} does not exist")
    lines = len(app.read_text(encoding="utf-8").splitlines())
    assert lines < MAX_HANDLER_LINES, (
        f"{function}: app.py has {lines} lines; keep handlers under {MAX_HANDLER_LINES} and put the logic "
        "in the shared layer (jira_onboarding)"
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_imports_no_other_function_folder(function: str) -> None:
    folder = _folder(function)
    if not folder.is_dir():
        pytest.fail(f"{function}: {folder.relative_to(REPO_ROOT)} does not exist")
    others = {p.name for p in FUNCTIONS_DIR.iterdir() if p.is_dir() and p != folder} | {"functions"}
    problems = []
    for source in sorted(folder.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            problems += [
                f"{source.relative_to(REPO_ROOT)}:{node.lineno} imports {m!r}"
                for m in modules
                if m.split(".")[0] in others
            ]
    assert not problems, "a function may only import the shared layer, never another function:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_has_sample_event(function: str) -> None:
    name = _folder(function).name
    events = [EVENTS_DIR / f"{name}.json", *sorted((EVENTS_DIR / name).glob("*.json"))]
    events = [e for e in events if e.is_file()]
    assert events, f"{function}: add events/{name}.json or events/{name}/*.json"
    for event in events:
        try:
            json.loads(event.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{event.relative_to(REPO_ROOT)} is not valid JSON: {exc}")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_uses_shared_layer(function: str) -> None:
    layer_ids = shared_layer_ids()
    assert layer_ids, "the template has no LayerVersion with ContentUri layers/shared/"
    # SAM appends a function's own Layers to the Globals' Layers.
    layers = as_list(function_globals().get("Layers")) + as_list(_props(function).get("Layers"))
    assert {ref_name(layer) for layer in layers} & layer_ids, f"{function}: does not use the shared layer"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_dynamodb_policies_name_existing_tables(function: str) -> None:
    tables = set(resources_of_type(*TABLE_TYPES))
    problems = []
    for policy in as_list(_props(function).get("Policies")):
        if not isinstance(policy, dict):
            continue
        for template_name, args in policy.items():
            if not (template_name.startswith("DynamoDB") and isinstance(args, dict) and "TableName" in args):
                continue
            table = ref_name(args["TableName"])
            if table not in tables:
                problems.append(f"{template_name} names {args['TableName']!r}, not a table of this template")
    assert not problems, f"{function}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- template-wide


def test_template_declares_functions() -> None:
    assert FUNCTIONS, "template.yaml declares no AWS::Serverless::Function"


# The one table a request without a team reaches: a webhook delivery names only its connection id
# (random, 192 bits), and this table maps it to the team; every other read then uses the team's key.
# Keyed by a secret the item is found by, the team inside it (the webhook URL's connection id; the
# SHA-256 of an OAuth state: an authorization in flight, checked against the team when used).
TABLES_KEYED_BY_CONNECTION = {"WebhookEndpointsTable": "connection_id", "OAuthStatesTable": "state_hash"}
# Routes Atlassian calls or sends the browser to: authenticated by the delivery's own signature
# (logic/live/receive.py), or by the single-use OAuth state (logic/connection/oauth.py).
ROUTES_SIGNED_BY_JIRA = {
    ("ReceiveJiraWebhookFunction", "JiraWebhook"),
    ("RegisterConnectionFunction", "OAuthCallback"),
}
# Tables keyed by the Jira site, not the team: one rate budget per site, shared by the teams on it
# by definition (issue 16). Their items hold counters, pauses and the site's field list, no team data.
SITE_SHARED_TABLES = {"JiraSiteBudgetsTable": "site_key"}


def test_template_tables_are_keyed_by_team() -> None:
    tables = resources_of_type(*TABLE_TYPES)
    assert tables, "template.yaml declares no DynamoDB table"
    problems = []
    for name, res in tables.items():
        props = properties(res)
        if res["Type"] == "AWS::Serverless::SimpleTable":
            hash_key = (props.get("PrimaryKey") or {}).get("Name", "id")
        else:
            hash_key = next(
                (k.get("AttributeName") for k in props.get("KeySchema") or [] if k.get("KeyType") == "HASH"),
                None,
            )
        if SITE_SHARED_TABLES.get(name) == hash_key:
            continue
        if hash_key != TABLES_KEYED_BY_CONNECTION.get(name, TENANT_KEY):
            problems.append(f"{name}: HASH key is {hash_key!r}, not {TENANT_KEY!r}")
    assert not problems, "every table is partitioned by team (tenant isolation):\n" + "\n".join(problems)


def test_layer_requirements_match_project_dependencies() -> None:
    requirements_txt = SHARED_LAYER_DIR / "requirements.txt"
    assert requirements_txt.is_file(), "layers/shared/requirements.txt is missing"
    layer = []
    for number, raw in enumerate(requirements_txt.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"requirements.txt:{number}: options ({line!r}) are not supported"
        layer.append(_requirement_key(line, f"layers/shared/requirements.txt:{number}"))
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = [_requirement_key(d, "pyproject.toml") for d in pyproject["project"]["dependencies"]]
    assert sorted(layer) == sorted(project), (
        "layers/shared/requirements.txt and pyproject.toml [project].dependencies must pin the same "
        "packages at the same versions"
    )


def test_http_api_has_jwt_default_authorizer() -> None:
    apis = resources_of_type("AWS::Serverless::HttpApi")
    assert apis, "template.yaml declares no AWS::Serverless::HttpApi"
    for name, res in apis.items():
        auth = properties(res).get("Auth") or {}
        default = auth.get("DefaultAuthorizer")
        assert default, f"{name}: no Auth.DefaultAuthorizer"
        authorizer = (auth.get("Authorizers") or {}).get(default)
        assert isinstance(authorizer, dict), (
            f"{name}: DefaultAuthorizer {default!r} is not in Auth.Authorizers"
        )
        jwt = authorizer.get("JwtConfiguration") or {}
        assert jwt.get("issuer") and jwt.get("audience"), f"{name}: {default!r} is not a JWT authorizer"


def test_http_api_routes_all_sit_behind_the_jwt_authorizer() -> None:
    """An HttpApi event without ApiId gets SAM's implicit API, which has no authorizer at all."""
    apis = set(resources_of_type("AWS::Serverless::HttpApi"))
    problems = []
    for function, props in serverless_functions().items():
        for event_name, event in (props.get("Events") or {}).items():
            if event.get("Type") != "HttpApi":
                continue
            event_props = event.get("Properties") or {}
            if ref_name(event_props.get("ApiId")) not in apis:
                problems.append(f"{function}.{event_name}: no ApiId naming the template's HttpApi")
            opted_out = str((event_props.get("Auth") or {}).get("Authorizer", "")).upper() == "NONE"
            if opted_out and (function, event_name) not in ROUTES_SIGNED_BY_JIRA:
                problems.append(
                    f"{function}.{event_name}: opts out of the authorizer (Auth.Authorizer: NONE)"
                )
    assert not problems, "\n".join(problems)


def test_template_resources_exist() -> None:
    assert resources(), "template.yaml has no Resources"


def _make_variable(makefile: str, name: str) -> str | None:
    for line in makefile.splitlines():
        key, sep, value = line.partition(":=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def test_shared_layer_is_built_for_the_functions_runtime_and_architecture() -> None:
    """The layer's Makefile installs wheels for one platform and compiles bytecode with one Python:
    both must be what every function runs on, or Lambda would load the wrong binaries (pydantic-core)
    or ignore the bytecode and compile again at every cold start."""
    layer_ids = shared_layer_ids()
    assert len(layer_ids) == 1, "template.yaml must declare one layer built from layers/shared/"
    (layer_id,) = layer_ids
    layer = resources()[layer_id]
    assert (layer.get("Metadata") or {}).get("BuildMethod") == "makefile", (
        f"{layer_id}: BuildMethod must be makefile (layers/shared/Makefile ships bytecode)"
    )
    makefile = (SHARED_LAYER_DIR / "Makefile").read_text(encoding="utf-8")
    assert f"build-{layer_id}:" in makefile, f"layers/shared/Makefile has no build-{layer_id} target"
    runtimes = {function_property(properties(res), "Runtime") for res in serverless_functions().values()}
    architectures = {
        tuple(as_list(function_property(properties(res), "Architectures")) or ["x86_64"])
        for res in serverless_functions().values()
    }
    assert len(runtimes) == 1 and len(architectures) == 1, (
        f"functions share one layer, so one runtime and one architecture: {runtimes}, {architectures}"
    )
    (runtime,) = runtimes
    ((architecture,),) = architectures
    assert as_list(properties(layer).get("CompatibleRuntimes")) == [runtime]
    assert _make_variable(makefile, "PYTHON_VERSION") == runtime.removeprefix("python"), (
        f"layers/shared/Makefile: PYTHON_VERSION must be the functions' runtime, {runtime}"
    )
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
    assert _make_variable(makefile, "PLATFORM") == f"manylinux2014_{machine}", (
        f"layers/shared/Makefile: PLATFORM must match the functions' architecture, {architecture}"
    )
