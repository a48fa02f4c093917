"""Each function's IAM grants as the deployed role will have them, checked against recorded calls.

A function's role holds: its `Policies` in template.yaml (SAM policy templates, expanded from SAM's
own `policy_templates.json`, loaded from the installed samtranslator, never copied here; inline
`Statement`s; `!Ref`s to AWS::IAM::ManagedPolicy resources of the template), plus what SAM adds
by itself (`AWSLambdaBasicExecutionRole`; X-Ray's write access with `Tracing: Active`; the SQS
poller actions on an SQS event's queue). Resources resolve through the harness's resolver with every
template resource named by its logical id (local_harness/iam_calls.py `canonical_resolver`), the
form the calls are recorded in.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_harness.iam_calls import canonical_resolver
from local_harness.template import TemplateModel

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM_TEMPLATES_RELATIVE = "samtranslator/policy_templates_data/policy_templates.json"

# What SAM attaches to every function's role, and with `Tracing: Active` (AWS managed policies
# AWSLambdaBasicExecutionRole and AWSXRayDaemonWriteAccess), and per SQS event source.
BASIC_EXECUTION_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
)
SQS_EVENT_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    resource: str
    count: int = 1


@dataclass(frozen=True)
class Grant:
    """One statement of a function's role; `source` says where it comes from in the template."""

    function: str
    source: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    allow: bool = True
    written: bool = True  # in the template's Policies (False: SAM adds it)
    bundle: bool = False  # a SAM policy template's statement: its actions go together
    managed_policy: str = ""  # the template's AWS::IAM::ManagedPolicy it comes from, shared

    @property
    def owner(self) -> str:
        return self.managed_policy or self.function

    def covers(self, call: Call) -> bool:
        return any(_matches(a, call.action, fold=True) for a in self.actions) and any(
            _matches(r, call.resource, fold=False) for r in self.resources
        )


@functools.cache
def _pattern(pattern: str, fold: bool) -> re.Pattern[str]:
    body = ".*".join(".".join(re.escape(q) for q in part.split("?")) for part in pattern.split("*"))
    return re.compile(f"^{body}$", re.IGNORECASE if fold else 0)


def _matches(pattern: str, value: str, *, fold: bool) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one; actions ignore case, resources do not."""
    return _pattern(pattern, fold).match(value) is not None


def sam_policy_templates() -> dict[str, Any] | None:
    """SAM's policy templates, from the installed samtranslator (SAM_POLICY_TEMPLATES names the
    file elsewhere); None when it is not installed."""
    candidates = [os.environ.get("SAM_POLICY_TEMPLATES", "")]
    spec = importlib.util.find_spec("samtranslator")
    if spec is not None and spec.submodule_search_locations:
        candidates += [str(Path(p).parent / SAM_TEMPLATES_RELATIVE) for p in spec.submodule_search_locations]
    candidates += [
        str(p) for p in REPO_ROOT.glob(f".venv-sam/lib/python*/site-packages/{SAM_TEMPLATES_RELATIVE}")
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return dict(json.loads(Path(candidate).read_text(encoding="utf-8"))["Templates"])
    return None


class PolicyExpander:
    """Resolves a template's function policies into `Grant`s."""

    def __init__(
        self, raw: dict[str, Any], sam_templates: dict[str, Any], parameters: dict[str, Any]
    ) -> None:
        self.model = TemplateModel(raw)
        self.parameters = {**self.model.parameter_defaults(), **parameters}
        self.resolver = canonical_resolver(self.model, self.parameters)
        self.sam_templates = sam_templates

    # ---- intrinsics ----------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.model.raw.get("Conditions", {})[name]))

    def evaluate(self, value: Any) -> Any:
        """The condition functions the template's Conditions use."""
        if isinstance(value, dict) and len(value) == 1:
            ((kind, arg),) = value.items()
            if kind == "Fn::Not":
                return not self.evaluate(arg[0])
            if kind == "Fn::Equals":
                return str(self.evaluate(arg[0])) == str(self.evaluate(arg[1]))
            if kind == "Condition":
                return self.condition(arg)
            if kind == "Ref":
                return self.parameters[arg]
        return value

    def resolve(self, value: Any) -> Any:
        """`value` with Fn::If decided, Fn::Sub's variable maps applied and references resolved;
        None for AWS::NoValue."""
        if isinstance(value, dict) and len(value) == 1:
            ((kind, arg),) = value.items()
            if kind == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if kind == "Ref" and arg == "AWS::NoValue":
                return None
            if kind == "Fn::Sub" and isinstance(arg, list):
                text, variables = arg
                for name, variable in variables.items():
                    text = text.replace("${" + name + "}", str(self.resolve(variable)))
                return self.resolver.substitute(text)
            if kind in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                return self.resolver.resolve(value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not None]
        return value

    # ---- grants --------------------------------------------------------------------------
    def grants(self) -> dict[str, list[Grant]]:
        """Every function's grants: its Policies, then what SAM adds."""
        tracing = self.model.raw.get("Globals", {}).get("Function", {}).get("Tracing")
        out: dict[str, list[Grant]] = {}
        for function, resource in self.model.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            grants = [
                g for n, entry in enumerate(props.get("Policies", [])) for g in self.entry(function, entry, n)
            ]
            grants.append(
                Grant(function, "AWSLambdaBasicExecutionRole", BASIC_EXECUTION_ACTIONS, ("*",), written=False)
            )
            if props.get("Tracing", tracing) == "Active":
                grants.append(Grant(function, "Tracing: Active (X-Ray)", XRAY_ACTIONS, ("*",), written=False))
            for name, event in props.get("Events", {}).items():
                if event["Type"] == "SQS":
                    queue = str(self.resolve(event["Properties"]["Queue"]))
                    grants.append(
                        Grant(function, f"SQS event {name}", SQS_EVENT_ACTIONS, (queue,), written=False)
                    )
            out[function] = grants
        return out

    def entry(self, function: str, entry: Any, n: int) -> list[Grant]:
        """The grants of the `n`th item of a function's Policies list."""
        if isinstance(entry, dict) and set(entry) == {"Fn::If"}:
            condition, then, otherwise = entry["Fn::If"]
            return self.entry(function, then if self.condition(condition) else otherwise, n)
        if entry == {"Ref": "AWS::NoValue"}:
            return []
        if isinstance(entry, dict) and set(entry) == {"Ref"}:
            managed = self.model.resources.get(entry["Ref"], {})
            if managed.get("Type") != "AWS::IAM::ManagedPolicy":
                raise ValueError(
                    f"{function}: Policies names {entry['Ref']}, not a managed policy of the template"
                )
            document = managed["Properties"]["PolicyDocument"]
            return self.statements(function, entry["Ref"], document["Statement"], managed_policy=entry["Ref"])
        if isinstance(entry, dict) and set(entry) == {"Statement"}:
            return self.statements(function, f"Policies[{n}] Statement", entry["Statement"])
        if isinstance(entry, dict) and len(entry) == 1:
            ((name, arguments),) = entry.items()
            if name not in self.sam_templates:
                raise ValueError(f"{function}: unknown SAM policy template {name}")
            return self.sam_template(function, f"Policies[{n}] {name}", name, arguments or {})
        raise ValueError(f"{function}: unsupported Policies entry {entry!r} (an AWS managed policy?)")

    def sam_template(self, function: str, source: str, name: str, arguments: dict[str, Any]) -> list[Grant]:
        definition = self.sam_templates[name]["Definition"]

        def fill(value: Any) -> Any:
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in arguments:
                return arguments[value["Ref"]]
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        label = source + "(" + ", ".join(f"{k}={self.resolve(v)}" for k, v in sorted(arguments.items())) + ")"
        return self.statements(function, label, fill(definition)["Statement"], bundle=True)

    def statements(
        self, function: str, source: str, statements: Any, *, bundle: bool = False, managed_policy: str = ""
    ) -> list[Grant]:
        grants = []
        for n, statement in enumerate(self.resolve(statements)):
            if "NotAction" in statement or "NotResource" in statement:
                raise ValueError(f"{function} {source}: NotAction/NotResource are not supported here")
            grants.append(
                Grant(
                    function,
                    source if len(statements) == 1 else f"{source}[{n}]",
                    tuple(_as_list(statement["Action"])),
                    tuple(str(r) for r in _as_list(statement["Resource"])),
                    allow=statement.get("Effect", "Allow") == "Allow",
                    bundle=bundle,
                    managed_policy=managed_policy,
                )
            )
        return grants


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def denied(calls: list[Call], grants: dict[str, list[Grant]]) -> list[str]:
    """One line per recorded call the function's role would refuse."""
    problems = []
    for call in sorted(calls, key=lambda c: (c.function, c.action, c.resource)):
        own = grants.get(call.function)
        if own is None:
            problems.append(
                f"{call.function}: not a function of template.yaml ({call.action} on {call.resource})"
            )
            continue
        refused = any(not g.allow and g.covers(call) for g in own)
        if refused or not any(g.allow and g.covers(call) for g in own):
            problems.append(
                f"{call.function}: {call.action} on {call.resource} is not granted ({call.count} calls)"
            )
    return problems


def unused(
    calls: list[Call], grants: dict[str, list[Grant]], allowed_unused: dict[tuple[str, str], str]
) -> list[str]:
    """One line per grant of the template that no recorded call uses. A SAM policy template counts as
    used when any of its actions is (it grants a bundle); an inline or managed statement's every
    action must be used. A managed policy is shared: used when some function holding it uses it.
    `allowed_unused` maps (function or managed policy, action) to why it is unused locally (for a
    SAM policy template: any one of its actions)."""
    by_owner: dict[tuple[str, str], list[Grant]] = {}
    for own in grants.values():
        for grant in own:
            if grant.written and grant.allow:
                by_owner.setdefault((grant.owner, grant.source), []).append(grant)
    problems = []
    for (owner, source), holders in sorted(by_owner.items()):
        functions = {g.function for g in holders}
        holder_calls = [c for c in calls if c.function in functions]
        grant = holders[0]
        for actions in [grant.actions] if grant.bundle else [(a,) for a in grant.actions]:
            probe = Grant(grant.function, source, actions, grant.resources)
            used = any(probe.covers(c) for c in holder_calls)
            if used or any((owner, a) in allowed_unused for a in actions):
                continue
            where = source if grant.managed_policy else f"{owner} {source}"
            problems.append(f"{where}: {', '.join(actions)} on {', '.join(grant.resources)} is never used")
    return problems


def load_calls(directory: Path) -> list[Call]:
    """The calls recorded by every worker under `directory`, summed."""
    counts: dict[tuple[str, str, str], int] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = (row["function"], row["action"], row["resource"])
            counts[key] = counts.get(key, 0) + int(row.get("count", 1))
    return [Call(f, a, r, n) for (f, a, r), n in sorted(counts.items())]
