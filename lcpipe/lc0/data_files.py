"""Which data files a tool command reads, and where their rewritten copies go.

Tools that rewrite data (``data rescore``, ``data filter``) take files and
directories: a directory stands for every .gz and .tar under it. Each input
file gets one output file in the output directory, under its own name (or its
path relative to the directory given), so a rewrite mirrors the input's layout.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lcpipe.lc0 import tario
from lcpipe.lc0.report import ReadReport

DATA_SUFFIXES = (".gz", ".tar")


@dataclass(frozen=True)
class DataFile:
    path: Path  # the input
    relative: Path  # its output's path inside the output directory

    @property
    def is_tar(self) -> bool:
        return self.path.name.endswith(".tar")


def _is_data(path: Path) -> bool:
    return path.name.endswith(DATA_SUFFIXES) and not path.name.startswith(".")


def data_files(inputs: Iterable[str | os.PathLike]) -> list[DataFile]:
    """The data files of ``inputs``; raises ValueError for a missing input, a file that is not
    .gz/.tar, an empty directory or two inputs that would write the same output file."""
    out: list[DataFile] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_data(p))
            if not found:
                raise ValueError(f"{path}: no .gz or .tar files in this directory")
            out.extend(DataFile(p, p.relative_to(path)) for p in found)
        elif path.is_file():
            if not path.name.endswith(DATA_SUFFIXES):
                raise ValueError(f"{path}: not a data file (expected a .gz chunk or a .tar of chunks)")
            out.append(DataFile(path, Path(path.name)))
        else:
            raise ValueError(f"{path}: no such file or directory")
    seen: dict[Path, Path] = {}
    for f in out:
        if f.relative in seen:
            raise ValueError(f"{seen[f.relative]} and {f.path} would both be written as {f.relative}")
        seen[f.relative] = f.path
    return out


def check_output_dir(out_dir: str | os.PathLike, files: Iterable[DataFile]) -> Path:
    """``out_dir`` if no output would overwrite an input; else ValueError."""
    out = Path(out_dir)
    for f in files:
        target = out / f.relative
        if target.exists() and target.resolve() == f.path.resolve():
            raise ValueError(f"{target}: the output would overwrite its input; choose another --out")
    return out


def count_chunks(files: Iterable[DataFile]) -> int:
    """Chunks in the files (a tar's .gz members counted from its headers, no data read)."""
    total = 0
    for f in files:
        if not f.is_tar:
            total += 1
            continue
        with open(f.path, "rb") as fh:
            total += sum(
                1 for m in tario.iter_members(fh, str(f.path), ReadReport()) if m.name.endswith(".gz")
            )
    return total
