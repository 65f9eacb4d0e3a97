"""Every hook is documented, and the README's commands are the ones CI runs."""

from __future__ import annotations

import inspect
from pathlib import Path

from lcpipe import hookspecs

REPO = Path(__file__).resolve().parents[2]


def test_every_hook_is_documented():
    doc = (REPO / "docs" / "plugins.md").read_text()
    hooks = [
        name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("lcpipe_")
    ]
    assert hooks
    for name in hooks:
        assert f"### `{name}(" in doc, f"hook {name} is not documented in docs/plugins.md"
        assert getattr(hookspecs, name).__doc__, f"hook {name} has no docstring"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in readme and "make run" in readme
    assert [l for l in ci.splitlines() if l and not l.startswith(("#", "set ", "cd "))] == ["make test"]
