"""The layering of csrc/, checked on the #include lines: a directory includes
only from its own layer's directory or from lower layers, so the chess rules
and the tablebase prober never depend on the loader or self-play above them."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CSRC = REPO / "csrc"

# Directory -> layer, bottom first. A directory above every layer (None) may
# include anything: the extension's module.cpp, the fuzz drivers, the C++ tests.
LAYERS: dict[str, int | None] = {
    "common": 0,
    "chess": 1,
    "syzygy": 2,
    "loader": 3,
    "selfplay": 3,
    ".": None,
    "fuzz": None,
    "tests": None,
}
SOURCE_SUFFIXES = {".h", ".cpp"}
PROJECT_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def _directory(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else "."


def layering_violations(root: Path, layers: dict[str, int | None]) -> list[str]:
    """One line per include that points up, sideways into another directory of
    the same layer, or at no file; and per file in a directory with no layer."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES):
        name = path.relative_to(root).as_posix()
        here = _directory(path, root)
        if here not in layers:
            found.append(f"{name}: directory '{here}' has no layer (add it to LAYERS)")
            continue
        for target in PROJECT_INCLUDE.findall(path.read_text()):
            if not (root / target).is_file():
                found.append(f'{name}: includes "{target}", which is no file under csrc/')
                continue
            there = _directory(root / target, root)
            mine, theirs = layers[here], layers.get(there)
            if mine is None or there == here:
                continue
            if theirs is None or theirs > mine:
                found.append(f"{name} (layer {mine}) includes {target} from a higher layer")
            elif theirs == mine:
                found.append(
                    f"{name} includes {target}: {here}/ and {there}/ are one layer, neither uses the other"
                )
    return found


def test_csrc_includes_follow_the_layers():
    assert layering_violations(CSRC, LAYERS) == []


def test_every_layered_directory_exists():
    missing = [d for d in LAYERS if not (CSRC / d).is_dir()]
    assert missing == []


def test_the_check_finds_what_it_looks_for(tmp_path):
    """Not vacuous: planted upward, sideways and dangling includes are reported."""
    files = {
        "chess/board.h": '#pragma once\n#include "loader/core.h"\n',
        "loader/core.h": '#pragma once\n#include "selfplay/game.h"\n#include "chess/board.h"\n',
        "selfplay/game.h": '#pragma once\n#include "chess/missing.h"\n',
        "extra/thing.cpp": "int x;\n",
        "module.cpp": '#include "loader/core.h"\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert layering_violations(tmp_path, LAYERS) == [
        "chess/board.h (layer 1) includes loader/core.h from a higher layer",
        "extra/thing.cpp: directory 'extra' has no layer (add it to LAYERS)",
        "loader/core.h includes selfplay/game.h: loader/ and selfplay/ are one layer, neither uses the other",
        'selfplay/game.h: includes "chess/missing.h", which is no file under csrc/',
    ]
