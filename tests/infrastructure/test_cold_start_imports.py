"""Every function's cold-start import set, pinned: what its handler module imports at init.

A function pays for every module its init imports, at every cold start (and the X-Ray SDK patches
what it finds). The library keeps some imports inside functions for that reason ("lazy: cold
starts"); this test is what holds them lazy. Each function's `app.py` is imported in a fresh
interpreter from the source tree, and the library modules and the heavy third-party packages it
loaded are compared with `cold_start_imports.json`. A change that adds to a set on purpose
rewrites the file: `.venv/bin/python -m tests.infrastructure.test_cold_start_imports --write`
(the diff is then part of the review)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .support import REPO_ROOT

PINNED = Path(__file__).with_name("cold_start_imports.json")
LAYER = REPO_ROOT / "layers" / "shared"
# The third-party packages whose import is worth a line in a review (each costs 50-400 ms cold).
HEAVY = ("Cryptodome", "aws_xray_sdk", "boto3", "httpx", "jmespath", "pydantic", "pynamodb")

_PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
print(json.dumps({
    "library": sorted(m for m in sys.modules if m.startswith("jira_onboarding.")),
    "third_party": sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3].split(","))),
}))
"""


def _function_dirs() -> list[Path]:
    return sorted(p.parent for p in (REPO_ROOT / "functions").glob("*/app.py"))


def _imports_of(code_dir: Path) -> dict[str, list[str]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "jira-onboarding",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(code_dir), str(LAYER), ",".join(HEAVY)],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{code_dir.name}: {done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured() -> dict[str, dict[str, list[str]]]:
    dirs = _function_dirs()
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((d.name for d in dirs), pool.map(_imports_of, dirs), strict=True))


def test_every_function_imports_at_cold_start_exactly_what_is_pinned() -> None:
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    now = measured()
    assert sorted(now) == sorted(pinned), (
        "a function was added or removed: rewrite the pinned sets (see above)"
    )
    changed = {
        name: {
            "added": sorted(set(now[name][kind]) - set(pinned[name][kind])),
            "dropped": sorted(set(pinned[name][kind]) - set(now[name][kind])),
        }
        for name in now
        for kind in ("library", "third_party")
        if set(now[name][kind]) != set(pinned[name][kind])
    }
    assert changed == {}, (
        "cold-start imports changed (a lazy import made eager, or one made lazy): "
        f"{json.dumps(changed, indent=1)}\nIf intended, rewrite the pinned sets (module docstring)."
    )


def test_the_start_and_status_routes_load_no_http_client_and_no_cipher() -> None:
    """The routes a person waits on import neither httpx nor the cipher (only functions that call
    Jira or handle credentials pay for them)."""
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    for name in ("start_onboarding", "get_sync_status", "get_metrics"):
        assert not {"httpx", "Cryptodome"} & set(pinned[name]["third_party"]), name


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    PINNED.write_text(json.dumps(measured(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {PINNED.relative_to(REPO_ROOT)}")
