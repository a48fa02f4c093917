"""`sam build` packages the shared layer with its dependencies and every function's handler.

`make test` runs `make build` first, so this inspects that fresh .aws-sam/build instead of building
twice; it builds into a temporary folder only when .aws-sam/build is missing or older than the sources
(e.g. when pytest is run on its own).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .cfn_yaml import load_own_template
from .support import (
    FUNCTIONS_DIR,
    REPO_ROOT,
    SAM,
    SHARED_LAYER_DIR,
    TEMPLATE_PATH,
    missing_tool,
    normalized_uri,
    properties,
    resources_of_type,
    sam_env,
    serverless_functions,
)

pytestmark = pytest.mark.slow

DEFAULT_BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
FUNCTIONS = sorted(serverless_functions())


def _newest_source_mtime() -> float:
    sources = [TEMPLATE_PATH, *SHARED_LAYER_DIR.rglob("*"), *FUNCTIONS_DIR.rglob("*")]
    return max(
        p.stat().st_mtime
        for p in sources
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )


def _build_is_fresh(build_dir: Path) -> bool:
    built_template = build_dir / "template.yaml"
    return built_template.is_file() and built_template.stat().st_mtime >= _newest_source_mtime()


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _build_is_fresh(DEFAULT_BUILD_DIR):
        return DEFAULT_BUILD_DIR
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
    return load_own_template(build_dir / "template.yaml").get("Resources") or {}


def _artifact(build_dir: Path, built_resources: dict[str, Any], logical_id: str, uri_key: str) -> Path:
    uri = normalized_uri(properties(built_resources.get(logical_id) or {}).get(uri_key)) or logical_id
    return build_dir / uri


def test_sam_build_layer_contains_library_and_dependencies(
    build_dir: Path, built_resources: dict[str, Any]
) -> None:
    layers = [
        name
        for name, res in resources_of_type("AWS::Serverless::LayerVersion").items()
        if normalized_uri(properties(res).get("ContentUri")) == "layers/shared"
    ]
    assert layers, "the template has no AWS::Serverless::LayerVersion for layers/shared/"
    python = _artifact(build_dir, built_resources, layers[0], "ContentUri") / "python"
    assert (python / "jira_onboarding" / "__init__.py").is_file(), f"{python}: no jira_onboarding package"
    assert (python / "pydantic").is_dir(), f"{python}: the layer's requirements (pydantic) were not installed"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sam_build_function_artifact_contains_handler(
    build_dir: Path, built_resources: dict[str, Any], function: str
) -> None:
    artifact = _artifact(build_dir, built_resources, function, "CodeUri")
    assert (artifact / "app.py").is_file(), f"{function}: {artifact} has no app.py"
