"""Write the HTTP API's OpenAPI document, generated from the code, to `openapi/openapi.json`.

The committed file is what clients, reviewers and the fuzz test read; a unit test fails when it
differs from what the code generates (`make openapi` refreshes it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from local_harness.template import REPO_ROOT

OPENAPI_PATH = REPO_ROOT / "openapi" / "openapi.json"


def render() -> str:
    """The document as committed: two-space indent, keys in the generator's order, final newline."""
    from jira_onboarding.api.resolver import build_openapi

    return json.dumps(json.loads(build_openapi()), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_harness.openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=OPENAPI_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
