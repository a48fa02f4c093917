"""Shared helpers of the infrastructure checks: paths, the parsed template, tool lookup."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import pytest

from local_harness.template import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
FUNCTIONS_DIR = REPO_ROOT / "functions"
EVENTS_DIR = REPO_ROOT / "events"
SHARED_LAYER_DIR = REPO_ROOT / "layers" / "shared"
DEV_VENV_BIN = REPO_ROOT / ".venv" / "bin"
SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")

#: What SAM CLI needs to run offline: a region, and no telemetry.
SAM_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_tool(message: str) -> None:
    """A tool a check needs is absent: skip on a developer's machine, fail in CI (CI=true)."""
    if in_ci():
        pytest.fail(f"{message} (CI must install it: run `make setup`)")
    pytest.skip(f"{message}: run `make setup`")


def sam_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", SAM_ENV["AWS_DEFAULT_REGION"])
    env["SAM_CLI_TELEMETRY"] = SAM_ENV["SAM_CLI_TELEMETRY"]
    return env


@functools.cache
def template() -> dict[str, Any]:
    """template.yaml, parsed once per test session (do not mutate it)."""
    return load_template(TEMPLATE_PATH)


def resources(tpl: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return dict((tpl if tpl is not None else template()).get("Resources") or {})


def resources_of_type(*types: str, tpl: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources(tpl).items() if res.get("Type") in types}


def properties(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def function_globals(tpl: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(((tpl if tpl is not None else template()).get("Globals") or {}).get("Function") or {})


def function_property(props: dict[str, Any], name: str, tpl: dict[str, Any] | None = None) -> Any:
    """A function's property, falling back to Globals.Function (scalars: the function's own wins)."""
    if name in props:
        return props[name]
    return function_globals(tpl).get(name)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def ref_name(value: Any) -> str | None:
    """`X` for `{"Ref": "X"}`, else None."""
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def getatt_target(value: Any) -> tuple[str, str] | None:
    """`("X", "Arn")` for `{"Fn::GetAtt": ["X", "Arn"]}` or `{"Fn::GetAtt": "X.Arn"}`, else None."""
    if not (isinstance(value, dict) and set(value) == {"Fn::GetAtt"}):
        return None
    target = value["Fn::GetAtt"]
    if isinstance(target, str):
        resource, _, attribute = target.partition(".")
        return resource, attribute
    if isinstance(target, list) and len(target) == 2 and all(isinstance(t, str) for t in target):
        return target[0], target[1]
    return None


_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.([A-Za-z0-9_.]+))?\}")


def referenced_resources(value: Any) -> set[str]:
    """Logical ids a value points at: `!Ref X`, `!GetAtt X.Attr`, or `${X}`/`${X.Attr}` inside a `!Sub`."""
    if (name := ref_name(value)) is not None:
        return {name}
    if (target := getatt_target(value)) is not None:
        return {target[0]}
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else ""
        return {m.group(1) for m in _SUB_VARIABLE.finditer(str(text)) if "::" not in m.group(1)}
    return set()


def normalized_uri(uri: Any) -> str | None:
    """A local CodeUri/ContentUri/DefinitionUri as a clean relative path (`functions/x`), else None."""
    if not isinstance(uri, str):
        return None
    return Path(uri).as_posix().strip("/").removeprefix("./") or "."


def function_folder(props: dict[str, Any]) -> Path | None:
    uri = normalized_uri(function_property(props, "CodeUri"))
    return None if uri is None else REPO_ROOT / uri


def serverless_functions(tpl: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every AWS::Serverless::Function."""
    return {
        name: properties(res) for name, res in resources_of_type("AWS::Serverless::Function", tpl=tpl).items()
    }


def shared_layer_ids(tpl: dict[str, Any] | None = None) -> set[str]:
    """Logical ids of the layers built from layers/shared/."""
    return {
        name
        for name, res in resources_of_type(
            "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion", tpl=tpl
        ).items()
        if normalized_uri(properties(res).get("ContentUri")) == "layers/shared"
    }
