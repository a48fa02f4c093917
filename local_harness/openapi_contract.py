"""Check an answer of the API against the committed OpenAPI document (openapi/openapi.json).

An answer keeps the contract when its status is documented for its route and method, and its body
(JSON) validates against that status's schema. tests/integration/test_openapi_contract.py holds
the answers of every route to it.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from local_harness.openapi import OPENAPI_PATH


def _pattern(template: str) -> str:
    return "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))


class OpenApiContract:
    """The document's routes and answer schemas."""

    def __init__(self, path: Path = OPENAPI_PATH) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    @cached_property
    def _routes(self) -> list[tuple[re.Pattern[str], str]]:
        # A literal path before a templated one of the same shape (/jira/onboarding/{run_id}).
        templates = sorted(self.document["paths"], key=lambda t: (t.count("{"), t))
        return [(re.compile(_pattern(t)), t) for t in templates]

    def route(self, method: str, path: str) -> str | None:
        """The route template a concrete path is served by (None: the document has none)."""
        for pattern, template in self._routes:
            if pattern.fullmatch(path) and method.lower() in self.document["paths"][template]:
                return template
        return None

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Why the answer breaks the contract (empty: it keeps it)."""
        where = f"{method.upper()} {path} -> {status}"
        template = self.route(method, path)
        if template is None:
            return [f"{where}: no such route in the document"]
        answer = self.document["paths"][template][method.lower()]["responses"].get(str(status))
        if answer is None:
            return [f"{where}: status not documented for {method.upper()} {template}"]
        content = answer.get("content") or {}
        media = content.get("application/json")
        if media is None:
            # A non-JSON answer (the callback's 302): its body is empty or text.
            text = body is None or isinstance(body, str)
            return [] if text else [f"{where}: a JSON body where none is documented"]
        schema = {**media["schema"], "components": self.document["components"]}
        validator = Draft202012Validator(schema)
        return [f"{where}: {error.json_path}: {error.message[:300]}" for error in validator.iter_errors(body)]
