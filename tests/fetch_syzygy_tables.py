"""Fetches small Syzygy tablebases for the tests: the 3- and 4-piece tables that the
python-chess source distribution on PyPI ships (data/syzygy/regular, GPL-3.0 like lcpipe).

Run by `make setup`; writes the .rtbw/.rtbz files into the directory given (default
.venv/syzygy-test) and does nothing when they are already there. Only PyPI is needed.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CHESS_SDIST = "chess==1.11.2"
DEFAULT_DIR = Path(__file__).resolve().parents[1] / ".venv" / "syzygy-test"


def fetch(dest: Path) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.glob("*.rtbw")):
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                tmp,
                CHESS_SDIST,
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("chess-*.tar.gz")
        count = 0
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                name = Path(member.name)
                if member.isfile() and "syzygy" in name.parts and name.suffix in (".rtbw", ".rtbz"):
                    data = tar.extractfile(member).read()
                    part = dest / (name.name + ".part")
                    part.write_bytes(data)
                    part.rename(dest / name.name)
                    count += 1
    if count == 0:
        raise SystemExit(f"no Syzygy tables found in {CHESS_SDIST}")
    return count


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    n = fetch(target)
    print(f"syzygy test tables in {target}" + (f" ({n} files fetched)" if n else ""))
