"""What a benchmark prints, kept so it can be written to its results file.

out = Report("bench_loader", argv)   # first line: name, time, cores, command
out("figure ...")                    # printed at once and kept
out.save(args.out)                   # written atomically (nothing if no path)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


class Report:
    def __init__(self, name: str, argv: list[str] | None = None):
        self.lines: list[str] = []
        args = " ".join(sys.argv[1:] if argv is None else argv)
        self(
            f"# {name}  {time.strftime('%Y-%m-%d %H:%M:%S')}  cores={os.cpu_count()}  "
            f"command: .venv/bin/python benchmarks/{name}.py {args}".rstrip()
        )

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self, path: str | None) -> None:
        if not path:
            return
        tmp = Path(f"{path}.tmp")
        tmp.write_text("\n".join(self.lines) + "\n")
        os.replace(tmp, path)
