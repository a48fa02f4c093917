"""Load a CloudFormation/SAM template, tolerating the short-form intrinsic tags.

`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt X.Arn` becomes `{"Fn::GetAtt": ["X", "Arn"]}`, `!Condition C`
becomes `{"Condition": "C"}` and every other `!Name value` becomes `{"Fn::Name": value}` (`!Sub`, `!Join`,
`!If`, `!Select`, ...), i.e. the long form CloudFormation itself uses.

`load_template` prefers the project's own loader, `local_harness.template.load_template`, when it exists,
so the checks read the template exactly as the local harness does; this module's loader is the fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that also understands CloudFormation's `!Tag` short forms."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def parse_template(text: str) -> dict[str, Any]:
    """Parse template text with this module's loader."""
    document = yaml.load(text, Loader=CfnLoader)  # CfnLoader is a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError("a CloudFormation template must be a YAML mapping")
    return document


def load_own_template(path: str | Path) -> dict[str, Any]:
    """Load a template with this module's loader."""
    return parse_template(Path(path).read_text(encoding="utf-8"))


def load_template(path: str | Path) -> dict[str, Any]:
    """Load a template with `local_harness.template.load_template` if the project has it, else our own."""
    try:
        from local_harness.template import load_template as harness_load_template
    except ImportError:
        return load_own_template(path)
    return dict(harness_load_template(Path(path)))
