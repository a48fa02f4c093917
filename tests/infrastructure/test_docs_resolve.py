"""What the README, template.yaml's comments and bench/ name exists: every file path and every
`...Function` (a stale name, such as bench_cost's SyncProjectIssuesFunction, once skewed the cost
figures silently)."""

from __future__ import annotations

import re

from .support import REPO_ROOT, resources

LIBRARY = REPO_ROOT / "layers" / "shared" / "jira_onboarding"
# Where a path may be relative to: the repository, the library (`logic/live/binding.py`), the parent.
BASES = (REPO_ROOT, REPO_ROOT / "layers" / "shared", LIBRARY, LIBRARY / "logic", REPO_ROOT.parent)
_PATH = re.compile(
    r"(?<![\w/.-])((?:\.\./)?[A-Za-z_][\w.-]*(?:/[\w.{}<>-]+)+\.(?:py|json|yaml|yml|md|js|html|css|toml|txt))"
)
_FUNCTION = re.compile(r"\b([A-Z][A-Za-z]+Function)\b")
# Names that are not this template's functions: AWS's own and the SAM types.
NOT_OURS = {"ServerlessFunction", "LambdaFunction"}


def _texts() -> dict[str, str]:
    texts = {"README.md": (REPO_ROOT / "README.md").read_text(encoding="utf-8")}
    template = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    texts["template.yaml (comments)"] = "\n".join(
        line.split("#", 1)[1] for line in template.splitlines() if "#" in line
    )
    for file in sorted((REPO_ROOT / "bench").glob("*.py")):
        texts[f"bench/{file.name}"] = file.read_text(encoding="utf-8")
    return texts


def _exists(path: str) -> bool:
    if "<" in path or "{" in path or path.startswith("bench/out/"):  # a pattern, or a bench's output
        return True
    return any((base / path).exists() for base in BASES)


def test_every_file_path_the_docs_name_exists() -> None:
    missing = sorted(
        f"{where}: {path}"
        for where, text in _texts().items()
        for path in set(_PATH.findall(text))
        if not _exists(path)
    )
    assert not missing, "named but not there:\n" + "\n".join(missing)


def test_every_function_the_docs_name_is_one_of_the_templates() -> None:
    ours = {name for name, res in resources().items() if res.get("Type") == "AWS::Serverless::Function"}
    unknown = sorted(
        f"{where}: {name}"
        for where, text in _texts().items()
        for name in set(_FUNCTION.findall(text))
        if name not in ours and name not in NOT_OURS
    )
    assert not unknown, "not a function of template.yaml:\n" + "\n".join(unknown)
