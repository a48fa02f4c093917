"""`sam build` packages the shared layer with its dependencies and every function's handler.

`make test` runs `make build` first, so this inspects that fresh .aws-sam/build instead of building
twice; it builds into a temporary folder only when .aws-sam/build is missing or older than the sources
(e.g. when pytest is run on its own).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_harness.template import BUILD_DIR, build_is_stale, load_template

from .support import (
    REPO_ROOT,
    SAM,
    TEMPLATE_PATH,
    missing_tool,
    normalized_uri,
    properties,
    sam_env,
    serverless_functions,
    shared_layer_ids,
)

pytestmark = pytest.mark.slow

FUNCTIONS = sorted(serverless_functions())


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if build_is_stale(BUILD_DIR) is None:
        return BUILD_DIR
    if not SAM.exists():
        missing_tool(f"SAM CLI is not installed at {SAM.relative_to(REPO_ROOT)}")
    out = tmp_path_factory.mktemp("sam-build")
    result = subprocess.run(
        [str(SAM), "build", "--template", str(TEMPLATE_PATH), "--build-dir", str(out), "--parallel"],
        cwd=REPO_ROOT,
        env=sam_env(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    return out


@pytest.fixture(scope="module")
def built_resources(build_dir: Path) -> dict[str, Any]:
    return load_template(build_dir / "template.yaml").get("Resources") or {}


def _artifact(build_dir: Path, built_resources: dict[str, Any], logical_id: str, uri_key: str) -> Path:
    uri = normalized_uri(properties(built_resources.get(logical_id) or {}).get(uri_key)) or logical_id
    return build_dir / uri


def _layer_python(build_dir: Path, built_resources: dict[str, Any]) -> Path:
    layer_id = min(shared_layer_ids())  # test_functions_layout checks there is exactly one
    return _artifact(build_dir, built_resources, layer_id, "ContentUri") / "python"


def test_sam_build_layer_contains_library_and_dependencies(
    build_dir: Path, built_resources: dict[str, Any]
) -> None:
    assert shared_layer_ids(), "the template has no AWS::Serverless::LayerVersion for layers/shared/"
    python = _layer_python(build_dir, built_resources)
    assert (python / "jira_onboarding" / "__init__.py").is_file(), f"{python}: no jira_onboarding package"
    assert (python / "pydantic").is_dir(), f"{python}: the layer's requirements (pydantic) were not installed"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sam_build_function_artifact_contains_handler(
    build_dir: Path, built_resources: dict[str, Any], function: str
) -> None:
    artifact = _artifact(build_dir, built_resources, function, "CodeUri")
    assert (artifact / "app.py").is_file(), f"{function}: {artifact} has no app.py"


def test_sam_build_layer_ships_bytecode_that_is_never_recompiled(
    build_dir: Path, built_resources: dict[str, Any]
) -> None:
    """Lambda's /opt is read-only: a module without bytecode in the layer is compiled from source at
    every cold start. Every module ships a .pyc of this Python (the runtime's: checked against the
    template by test_functions_layout), hash-based and unchecked, so no mtime can invalidate it."""
    python = _layer_python(build_dir, built_resources)
    assert not (python / "bin").exists(), f"{python}/bin: console scripts are of no use on Lambda"
    missing, checked = [], []
    for source in python.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            missing.append(str(source.relative_to(python)))
            continue
        header = cached.read_bytes()[:8]
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != 0b01:
            checked.append(str(source.relative_to(python)))
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {sorted(missing)[:5]}"
    assert not checked, f"{len(checked)} .pyc not unchecked-hash for this Python, e.g. {sorted(checked)[:5]}"


# Runs in a fresh interpreter on the built artifacts, as a Lambda init does: counts the modules
# compiled from source and reports what the X-Ray SDK patched.
_LAMBDA_INIT = """
import importlib.machinery, json, sys
compiled = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counting
sys.path[:0] = sys.argv[1:]
import app
from aws_xray_sdk.core import patcher
print(json.dumps({
    "compiled": [p for p in compiled if p.startswith(sys.argv[2])],
    "patched": sorted(patcher._PATCHED_MODULES),
    "httpx": "httpx" in sys.modules,
}))
"""


@pytest.mark.parametrize(
    ("function", "patched", "imports_httpx"),
    [
        ("StartOnboardingFunction", ["botocore"], False),
        ("SyncSegmentFunction", ["botocore", "httpx"], True),
    ],
)
def test_built_function_initializes_with_tracing_on_and_compiles_nothing_from_the_layer(
    build_dir: Path, built_resources: dict[str, Any], function: str, patched: list[str], imports_httpx: bool
) -> None:
    """In Lambda (`Tracing: Active`) the tracer is on: it patches botocore, and httpx only where the
    function makes HTTP calls, so the start function never imports httpx."""
    code = _artifact(build_dir, built_resources, function, "CodeUri")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "LAMBDA_TASK_ROOT": str(code),
        "POWERTOOLS_SERVICE_NAME": "jira-onboarding",
    }
    done = subprocess.run(
        [sys.executable, "-S", "-c", _LAMBDA_INIT, str(code), str(_layer_python(build_dir, built_resources))],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["compiled"] == [], "compiled from source at init: " + ", ".join(report["compiled"][:5])
    assert report["patched"] == patched
    assert report["httpx"] is imports_httpx
