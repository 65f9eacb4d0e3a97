"""A test-only plugin stage: emits given network files one at a time, each once the gate has rated the previous.

It stands in for export.lc0 (whose output is a latest edge): waiting for
the ladder to grow keeps the gate from skipping a network.
"""

from __future__ import annotations

import time
from pathlib import Path

from lcpipe.plugin import Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage
from lcpipe.types import ExportedNetwork


def _lines(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    except FileNotFoundError:
        return 0


class NetworkSource(Stage):
    def run(self) -> None:
        ladder = Path(self.config["ladder"])
        before = _lines(ladder)
        for k, (path, step) in enumerate(zip(self.config["paths"], self.config["steps"])):
            if not self.ctx.output("network").put(ExportedNetwork(Path(path), step)):
                return
            while _lines(ladder) < before + k + 1:  # condition: the gate wrote this network's entry
                if self.ctx.stopping:
                    return
                time.sleep(0.05)


class Collect(Stage):
    """Appends the step of every network it receives to a file (one per line)."""

    def run(self) -> None:
        with open(self.config["path"], "a") as out:
            for net in self.ctx.input("network"):
                out.write(f"{net.step}\n")
                out.flush()


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="test.collect",
            factory=f"{__name__}:Collect",
            description="records promoted networks",
            inputs=(Port("network", "network", kind="latest"),),
            schema=settings({"path": {"type": "string", "default": "promoted.txt", "description": "output"}}),
        ),
        StageType(
            name="test.networks",
            factory=f"{__name__}:NetworkSource",
            description="network files, one by one",
            outputs=(Port("network", "network", kind="latest"),),
            schema=settings(
                {
                    "paths": {
                        "type": "array",
                        "items": {"type": "string"},
                        "default": [],
                        "description": "files",
                    },
                    "steps": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "default": [],
                        "description": "their steps",
                    },
                    "ladder": {
                        "type": "string",
                        "default": "ladder.jsonl",
                        "description": "the gate's ladder",
                    },
                }
            ),
        ),
    ]
