"""Atlassian's OpenAPI specs as a test oracle: response schemas and documented request parameters.

The specs live in ``../shared/jira-openapi/`` next to the repository root (override with the
``JIRA_OPENAPI_DIR`` environment variable). ``name`` is ``"platform"`` (Jira platform REST v3) or
``"software"`` (Jira Software Agile 1.0).
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SPEC_FILES = {"platform": "platform.v3.json", "software": "software.v3.json"}

# Where real Jira answers null although the spec types the property as a plain string.
DEFAULT_ALLOW_NULL = ("emailAddress", "from", "fromString", "to", "toString")

# The Agile spec gives only an example (no schema) for these; its own components describe them.
_FALLBACK_SCHEMAS: dict[tuple[str, str, str], dict] = {
    ("get", "/rest/agile/1.0/sprint/{sprintId}", "200"): {"$ref": "#/components/schemas/SprintBean"},
    ("get", "/rest/agile/1.0/board/{boardId}/sprint", "200"): {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "maxResults": {"type": "integer"},
            "startAt": {"type": "integer"},
            "total": {"type": "integer"},
            "isLast": {"type": "boolean"},
            "values": {"type": "array", "items": {"$ref": "#/components/schemas/SprintBean"}},
        },
    },
}


class SpecError(AssertionError):
    """A response or request does not match the spec."""


def spec_dir() -> Path:
    env = os.environ.get("JIRA_OPENAPI_DIR")
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root.parent / "shared" / "jira-openapi"


@lru_cache(maxsize=4)
def load_spec(name: str) -> dict:
    """Load ``platform`` or ``software`` (or a file name in the spec directory)."""
    file = SPEC_FILES.get(name, name)
    with (spec_dir() / file).open(encoding="utf-8") as fh:
        spec = json.load(fh)
    spec["x-sim-name"] = name
    return spec


def _spec(spec: dict | str) -> dict:
    return load_spec(spec) if isinstance(spec, str) else spec


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def match_path(spec: dict | str, path: str) -> str | None:
    """The spec's path template for a concrete path (literal templates win over parameterised ones)."""
    spec = _spec(spec)
    path = urlsplit(path).path
    if path in spec["paths"]:
        return path
    candidates = [t for t in spec["paths"] if _template_regex(t).match(path)]
    if not candidates:
        return None
    return min(candidates, key=lambda t: (t.count("{"), -len(t)))


def find_operation(method: str, path: str) -> tuple[str, str] | None:
    """``(spec name, path template)`` documenting ``method path`` in either spec, or None."""
    for name in ("platform", "software"):
        template = match_path(name, path)
        if template and method.lower() in load_spec(name)["paths"][template]:
            return name, template
    return None


def _operation(spec: dict, method: str, path_template: str) -> dict:
    try:
        return spec["paths"][path_template][method.lower()]
    except KeyError as exc:
        raise SpecError(
            f"{method.upper()} {path_template} is not in the {spec.get('x-sim-name')} spec"
        ) from exc


def documented_query_params(spec: dict | str, method: str, path_template: str) -> set[str]:
    """Names of the query parameters the spec documents for the operation."""
    op = _operation(_spec(spec), method, path_template)
    return {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}


def documented_body_properties(spec: dict | str, method: str, path_template: str) -> set[str]:
    """Top-level JSON body properties the spec documents for the operation (empty if no body)."""
    spec = _spec(spec)
    op = _operation(spec, method, path_template)
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if not schema:
        return set()
    schema = _deref(spec, schema)
    return set(schema.get("properties", {}))


def _deref(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        parts = schema["$ref"].lstrip("#/").split("/")
        node: Any = spec
        for part in parts:
            node = node[part]
        schema = node
    return schema


def undocumented_request_parts(method: str, url: str, body: Any = None) -> list[str]:
    """Problems with a request a client sends: unknown path, undocumented query params or body keys."""
    parts = urlsplit(url)
    found = find_operation(method, parts.path)
    if found is None:
        return [f"{method.upper()} {parts.path} is not documented"]
    name, template = found
    problems = []
    allowed = documented_query_params(name, method, template)
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if key not in allowed:
            problems.append(f"query parameter {key!r} is not documented for {method.upper()} {template}")
    if isinstance(body, dict):
        allowed_body = documented_body_properties(name, method, template)
        for key in body:
            if key not in allowed_body:
                problems.append(f"body property {key!r} is not documented for {method.upper()} {template}")
    return problems


def response_schema(spec: dict | str, method: str, path_template: str, status: int | str) -> dict | None:
    """The documented JSON schema of a response (``$ref``s left in place), or None if none is given."""
    spec = _spec(spec)
    op = _operation(spec, method, path_template)
    response = op.get("responses", {}).get(str(status))
    if response is None:
        raise SpecError(f"status {status} is not documented for {method.upper()} {path_template}")
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        schema = _FALLBACK_SCHEMAS.get((method.lower(), path_template, str(status)))
    return schema


def _to_jsonschema(node: Any, allow_null: frozenset[str]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12: ``nullable`` becomes a ``null`` type."""
    if isinstance(node, list):
        return [_to_jsonschema(x, allow_null) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v, allow_null) for k, v in node.items() if k not in ("example", "xml")}
    if out.get("nullable") is True:
        _add_null(out)
    props = out.get("properties")
    if isinstance(props, dict):
        for name in allow_null & props.keys():
            props[name] = copy.deepcopy(props[name])
            _add_null(props[name])
    return out


def _add_null(schema: dict) -> None:
    t = schema.get("type")
    if isinstance(t, str):
        schema["type"] = [t, "null"]
    elif isinstance(t, list) and "null" not in t:
        schema["type"] = [*t, "null"]
    elif t is None and ("allOf" in schema or "$ref" in schema):
        inner = {k: schema.pop(k) for k in ("allOf", "$ref") if k in schema}
        schema["anyOf"] = [{"type": "null"}, inner]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


@lru_cache(maxsize=8)
def _components(spec_name: str, allow_null: frozenset[str]) -> dict:
    return _to_jsonschema(load_spec(spec_name)["components"], allow_null)


def validate_response(
    spec: dict | str,
    method: str,
    path_template: str,
    status: int,
    body: Any,
    *,
    allow_null: tuple[str, ...] = DEFAULT_ALLOW_NULL,
) -> None:
    """Raise :class:`SpecError` if ``body`` (parsed JSON) does not fit the documented response schema."""
    import jsonschema

    spec = _spec(spec)
    schema = response_schema(spec, method, path_template, status)
    if schema is None:
        raise SpecError(f"no schema documented for {method.upper()} {path_template} {status}")
    nulls = frozenset(allow_null)
    root = dict(_to_jsonschema(schema, nulls))
    root["components"] = _components(spec["x-sim-name"], nulls)
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:10]]
        raise SpecError(
            f"{method.upper()} {path_template} {status} does not match the spec:\n" + "\n".join(lines)
        )
