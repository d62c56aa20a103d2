"""The project's tooling does what the README says: CI (GitHub Actions and .ci/run) runs the same
make targets a developer runs, pre-commit runs the venv's tools, and the package is importable
without path tricks."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml
from conftest import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "ingestion" / "src"


def _workflow_commands() -> list[str]:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_the_github_workflow_runs_the_lint_and_test_targets():
    commands = _workflow_commands()
    assert "make lint" in commands and "make test" in commands
    assert commands.index("make lint") < commands.index("make test")


def test_ci_run_lints_then_tests_like_the_workflow():
    lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines.index("make lint") < lines.index("make test")


def test_make_lint_runs_ruff_the_format_check_and_mypy():
    makefile = (REPO_ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE).group(1)
    assert "ruff check" in lint and "ruff format --check" in lint and "mypy" in lint


def test_pre_commit_hooks_are_local_and_use_the_venvs_tools():
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    assert all(entry.startswith(".venv/bin/") for entry in entries), entries


def test_no_module_edits_sys_path_or_imports_from_tests_or_tools():
    for path in [
        *PACKAGE_DIR.rglob("*.py"),
        REPO_ROOT / "setup_db.py",
        *(REPO_ROOT / "bench").glob("*.py"),
        *(REPO_ROOT / "tests").glob("*.py"),
    ]:
        if path == Path(__file__):
            continue
        text = path.read_text()
        assert "sys.path" not in text and "noqa: E402" not in text, path
    for path in [*PACKAGE_DIR.rglob("*.py"), REPO_ROOT / "setup_db.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for module in modules:
                assert module.split(".")[0] not in ("tests", "tools", "conftest", "helpers"), f"{path}: {module}"


def test_the_package_is_what_python_imports():
    import ghdw.main

    assert ghdw.main.__file__ == str(PACKAGE_DIR / "main.py")
    assert sys.modules["ghdw"].__file__ == str(PACKAGE_DIR / "__init__.py")
