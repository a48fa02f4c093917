"""Check an answer of the API against the committed OpenAPI document (openapi/openapi.json).

An answer keeps the contract when its status is documented for its route and method, and its body
(JSON) validates against that status's schema. tests/integration/test_openapi_contract.py holds
the answers of every route to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

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
        from jsonschema import Draft202012Validator  # lazy: LocalStack.http imports this module

        schema = {**media["schema"], "components": self.document["components"]}
        validator = Draft202012Validator(schema)
        return [f"{where}: {error.json_path}: {error.message[:300]}" for error in validator.iter_errors(body)]


# With this set to a folder, every answer `LocalStack.http` gives is recorded there (one JSON line
# per answer, a file per process), and `python -m local_harness.openapi_contract <folder>` checks
# them all: what the whole integration suite saw, against the document.
RECORD_ENV = "OPENAPI_RECORD_DIR"


def record_answer(method: str, path: str, status: int, body: Any) -> None:
    """Record one answer when RECORD_ENV names a folder (else nothing)."""
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    line = json.dumps({"method": method, "path": path, "status": status, "body": body}, default=str)
    with (Path(folder) / f"answers-{worker}-{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def check_recorded(folder: Path, contract: OpenApiContract | None = None) -> tuple[int, set[str], list[str]]:
    """(answers checked, "METHOD route status" pairs seen, problems) of the answers in `folder`."""
    contract = contract or OpenApiContract()
    count, seen, problems = 0, set(), []
    for file in sorted(folder.glob("answers-*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            answer = json.loads(line)
            count += 1
            method, path, status = answer["method"].upper(), answer["path"], answer["status"]
            seen.add(f"{method} {contract.route(method, path)} {status}")
            problems += contract.problems(method, path, status, answer["body"])
    return count, seen, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_harness.openapi_contract", description=__doc__)
    parser.add_argument("folder", type=Path, help=f"where {RECORD_ENV} recorded the answers")
    args = parser.parse_args(argv)
    count, seen, problems = check_recorded(args.folder)
    for problem in sorted(set(problems)):
        print(problem)
    print(f"{count} answers over {len(seen)} route x status pairs; {len(problems)} break the document")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
