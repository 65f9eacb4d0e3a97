"""Python code is linted and formatted by ruff, and lcpipe/ type-checked by mypy (rules in
pyproject.toml; both come with the test extra, pinned, so every machine agrees). To fix a failure:
    .venv/bin/ruff check --fix . && .venv/bin/ruff format .   and   .venv/bin/mypy"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff_finds_no_lint_problems():
    run = _ruff("check", "--output-format", "concise", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_python_code_is_formatted():
    run = _ruff("format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_lint_rules_see_a_real_problem(tmp_path):
    # The configuration is live: an unused import in a file under the repo's rules is reported.
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    run = _ruff("check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(bad))
    assert run.returncode == 1 and "F401" in run.stdout


def test_lcpipe_type_checks():
    # mypy over lcpipe/ (settings in pyproject.toml): annotated code must agree with its annotations.
    run = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr
