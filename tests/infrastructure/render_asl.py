"""Render the template's state machine definitions with dummy values for their `${...}` placeholders.

The ASL files hold DefinitionSubstitutions placeholders (`"${SyncUsersFunctionArn}"`) that CloudFormation
fills in at deploy time. asl-validator checks ARNs in `Resource` fields, so it is fed a rendered copy in
which every placeholder is a well-formed dummy of the right kind (a Lambda ARN for a function's Arn, a
table name for a table's Ref, ...). The real ASL files are never modified.

    python tests/infrastructure/render_asl.py --template template.yaml --out-dir DIR
        writes DIR/<file name> for every state machine in the template and prints each path
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_harness.template import load_template

REGION = "us-east-1"
ACCOUNT = "123456789012"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


@dataclass
class StateMachineSource:
    logical_id: str
    text: str
    path: Path | None
    substitutions: dict[str, Any] = field(default_factory=dict)


def _target(value: Any) -> tuple[str, str | None] | None:
    """(logical id, attribute or None for Ref) a substitution value points at."""
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"], None
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, str):
            resource, _, attribute = target.partition(".")
            return resource, attribute
        if isinstance(target, list) and len(target) == 2:
            return str(target[0]), str(target[1])
    return None


def dummy_value(name: str, value: Any, resources: dict[str, Any]) -> str:
    """A stand-in of the right shape for substitution `name` whose template value is `value`."""
    if isinstance(value, str | int | float) and not isinstance(value, bool) and "${" not in str(value):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return PLACEHOLDER.sub(lambda m: pseudo.get(m.group(1), m.group(1)), value["Fn::Sub"])
    target = _target(value)
    if target is not None:
        logical_id, attribute = target
        rtype = (resources.get(logical_id) or {}).get("Type", "")
        arn = attribute == "Arn"
        if rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}" if arn else logical_id
        if rtype in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}" if arn else logical_id
        if rtype in STATE_MACHINE_TYPES:
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical_id}"
        if rtype == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if rtype == "AWS::SQS::Queue":
            if arn:
                return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}"
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical_id}"
        if rtype == "AWS::Events::EventBus":
            return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{logical_id}" if arn else logical_id
        if arn:
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        return logical_id
    if name.endswith("Arn"):
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name.removesuffix('Arn') or 'Dummy'}"
    return name


def render(text: str, substitutions: dict[str, Any], resources: dict[str, Any]) -> str:
    """`text` with every `${Name}` replaced; names missing from `substitutions` get a dummy by name."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        rendered = dummy_value(name, substitutions.get(name), resources)
        # The placeholder sits inside a JSON string: keep the document valid JSON.
        return json.dumps(rendered)[1:-1]

    return PLACEHOLDER.sub(replace, text)


def state_machine_sources(template_path: Path) -> list[StateMachineSource]:
    """Every state machine of the template, with its definition text (file or inline Definition)."""
    tpl = load_template(template_path)
    found = []
    for logical_id, resource in (tpl.get("Resources") or {}).items():
        if resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        props = resource.get("Properties") or {}
        uri = props.get("DefinitionUri")
        if isinstance(uri, str):
            path = (template_path.parent / uri).resolve()
            text, source_path = path.read_text(encoding="utf-8"), path
        elif isinstance(props.get("Definition"), dict):
            text, source_path = json.dumps(props["Definition"], indent=2), None
        else:
            continue
        found.append(
            StateMachineSource(
                logical_id, text, source_path, dict(props.get("DefinitionSubstitutions") or {})
            )
        )
    return found


def render_all(template_path: Path, out_dir: Path) -> list[Path]:
    tpl = load_template(template_path)
    resources = dict(tpl.get("Resources") or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in state_machine_sources(template_path):
        name = source.path.name if source.path else f"{source.logical_id}.asl.json"
        out = out_dir / name
        out.write_text(render(source.text, source.substitutions, resources), encoding="utf-8")
        written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    written = render_all(args.template.resolve(), args.out_dir)
    if not written:
        print(f"no state machine definitions found in {args.template}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
