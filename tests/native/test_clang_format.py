"""csrc/ is formatted by its .clang-format (clang-format comes with the test
extra, pinned, so every machine formats alike). To fix a failure:
    .venv/bin/clang-format -i $(git ls-files 'csrc/*.h' 'csrc/*.cpp')"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CSRC = REPO / "csrc"


def _clang_format() -> str:
    # The one installed next to this interpreter (the test extra), else on PATH.
    here = Path(sys.executable).parent / "clang-format"
    found = str(here) if here.is_file() else shutil.which("clang-format")
    assert found, "clang-format is missing: it comes with the test extra (pip install -e '.[test]')"
    return found


def _sources() -> list[Path]:
    return sorted(p for p in CSRC.rglob("*") if p.suffix in {".h", ".cpp"})


def _unformatted(paths: list[Path]) -> list[str]:
    run = subprocess.run(
        [_clang_format(), "--dry-run", "--Werror", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return sorted({line.split(":", 1)[0] for line in run.stderr.splitlines() if "error:" in line}) or (
        [run.stderr] if run.returncode else []
    )


def test_csrc_has_a_style_file():
    assert (CSRC / ".clang-format").is_file()


def test_csrc_is_formatted():
    assert _unformatted(_sources()) == []


def test_the_check_finds_unformatted_code(tmp_path):
    """Not vacuous: badly laid out code under the same style file is reported."""
    (tmp_path / ".clang-format").write_text((CSRC / ".clang-format").read_text())
    bad = tmp_path / "bad.cpp"
    bad.write_text("int  f( int x ){return x+1;}\n")
    assert _unformatted([bad]) == [str(bad)]
