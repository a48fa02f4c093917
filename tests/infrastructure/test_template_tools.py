"""The template and the state machine pass the linters the project pins (cfn-lint, sam, asl-validator)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .render_asl import render_all, state_machine_sources
from .support import DEV_VENV_BIN, REPO_ROOT, SAM, TEMPLATE_PATH, missing_tool, sam_env

ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"


def _run(cmd: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_template_passes_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        cfn_lint = DEV_VENV_BIN / "cfn-lint"
    if not cfn_lint.exists():
        missing_tool("cfn-lint is not installed in the dev venv")
    result = _run([cfn_lint, TEMPLATE_PATH])
    assert result.returncode == 0, _report(result)


def test_template_passes_sam_validate_lint() -> None:
    if not SAM.exists():
        missing_tool(f"SAM CLI is not installed at {SAM.relative_to(REPO_ROOT)}")
    result = _run([SAM, "validate", "--lint", "--template", TEMPLATE_PATH], env=sam_env())
    assert result.returncode == 0, _report(result)


def test_asl_render_fills_every_placeholder(tmp_path: Path) -> None:
    written = render_all(TEMPLATE_PATH, tmp_path)
    assert len(written) == len(state_machine_sources(TEMPLATE_PATH)) >= 1
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "${" not in text, f"{path.name}: a placeholder was left unrendered"
        json.loads(text)


def test_asl_passes_asl_validator(tmp_path: Path) -> None:
    if shutil.which("npx") is None or not ASL_VALIDATOR.exists():
        missing_tool("asl-validator is not installed (node_modules/.bin/asl-validator)")
    written = render_all(TEMPLATE_PATH, tmp_path)
    assert written, "the template defines no state machine"
    for path in written:
        result = _run(["npx", "--no-install", "asl-validator", "--json-path", path])
        assert result.returncode == 0, f"{path.name}: {_report(result)}"
