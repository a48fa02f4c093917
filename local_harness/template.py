"""Read `template.yaml` as data: the single source of truth for tables, functions and the state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"  # where `make build` puts `sam build`'s output


class _CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that keeps CloudFormation's short tags as their long JSON forms: `!Ref X`
    is `{"Ref": "X"}`, `!GetAtt X.Arn` is `{"Fn::GetAtt": ["X", "Arn"]}`, `!Condition C` is
    `{"Condition": "C"}`, and every other `!Name value` is `{"Fn::Name": value}`. The one loader of
    the template: the harness, the template checks and the ASL renderer all read it through here."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def build_is_stale(build_dir: Path = BUILD_DIR) -> str | None:
    """Why `build_dir` does not hold a build of the current sources (template, layer, functions),
    or None if it does."""
    built = build_dir / "template.yaml"
    if not built.is_file():
        return f"{build_dir} has no build"
    sources = [
        TEMPLATE_PATH,
        *(REPO_ROOT / "layers" / "shared").rglob("*"),
        *(REPO_ROOT / "functions").rglob("*"),
    ]
    newest = max(
        (
            p
            for p in sources
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
        ),
        key=lambda p: p.stat().st_mtime,
    )
    if newest.stat().st_mtime > built.stat().st_mtime:
        return f"{newest.relative_to(REPO_ROOT)} is newer than {built}"
    return None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout_s: int
    environment: dict[str, Any]
    http_routes: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (METHOD, /path/{param})
    # The routes that opt out of the JWT authorizer (Auth.Authorizer: NONE): Jira's webhooks, the
    # OAuth callback; the local server lets them through without a token, as API Gateway does.
    public_routes: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    sqs_events: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # Events of Type SQS: Properties


def _public_routes(props: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The function's HttpApi routes with `Auth: {Authorizer: NONE}`."""
    return tuple(
        (str(event["Properties"]["Method"]).upper(), str(event["Properties"]["Path"]))
        for event in props.get("Events", {}).values()
        if event["Type"] == "HttpApi"
        and str((event["Properties"].get("Auth") or {}).get("Authorizer", "")).upper() == "NONE"
    )


@dataclass(frozen=True)
class TemplateModel:
    raw: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.raw["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def parameter_defaults(self) -> dict[str, Any]:
        return {k: v.get("Default") for k, v in self.raw.get("Parameters", {}).items()}

    def functions(self) -> list[FunctionSpec]:
        globals_fn = self.raw.get("Globals", {}).get("Function", {})
        specs = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = dict(globals_fn.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            routes = tuple(
                (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                for event in props.get("Events", {}).values()
                if event["Type"] == "HttpApi"
            )
            sqs_events = tuple(
                event["Properties"] for event in props.get("Events", {}).values() if event["Type"] == "SQS"
            )
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    code_dir=REPO_ROOT / props["CodeUri"],
                    handler=props.get("Handler", globals_fn.get("Handler", "app.lambda_handler")),
                    timeout_s=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                    environment=env,
                    http_routes=routes,
                    public_routes=_public_routes(props),
                    sqs_events=sqs_events,
                )
            )
        return specs

    def state_machine(self) -> tuple[str, dict[str, Any]]:
        machines = self.of_type("AWS::Serverless::StateMachine")
        if len(machines) != 1:
            raise ValueError("the template must define exactly one state machine")
        return next(iter(machines.items()))


@lru_cache(maxsize=1)
def template_model() -> TemplateModel:
    return TemplateModel(load_template())
