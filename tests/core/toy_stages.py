"""Small real stages for exercising the compiler and runtime in tests.

They move integers around on a custom port type ("toy/int"), the way a
third-party plugin would declare its own types.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lcpipe.plugin import Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage, StageFailed


class Count(Stage):
    """Emits 0, 1, 2, ... up to `limit` (or forever when limit is 0)."""

    def run(self):
        i = 0
        while not self.ctx.stopping and (self.config["limit"] == 0 or i < self.config["limit"]):
            if not self.ctx.output("numbers").put(i):
                break
            i += 1
            if self.config["delay"]:
                time.sleep(self.config["delay"])
            if self.config["fail_at"] is not None and i == self.config["fail_at"]:
                raise StageFailed(f"asked to fail at {i}")


class Scale(Stage):
    def run(self):
        for x in self.ctx.input("numbers"):
            if not self.ctx.output("numbers").put(x * self.config["factor"]):
                break


class Collect(Stage):
    """Writes every number it receives (and the newest 'hint', a latest input) to a JSON file."""

    def run(self):
        seen = []
        hints = []
        for x in self.ctx.input("numbers"):
            seen.append(x)
            if self.ctx.has_input("hint"):
                hints.append(self.ctx.input("hint").latest())
            if self.ctx.has_output("feedback"):
                self.ctx.output("feedback").put(x)
            self.ctx.metrics({"received": float(len(seen))}, step=len(seen))
        Path(self.config["path"]).write_text(json.dumps({"seen": seen, "hints": hints}))


class Take(Stage):
    """Reads `count` numbers, then finishes while its writer still has more to give."""

    def run(self):
        taken = []
        for x in self.ctx.input("numbers"):
            taken.append(x)
            if len(taken) >= self.config["count"]:
                break
        Path(self.config["path"]).write_text(json.dumps({"seen": taken, "hints": []}))


PREPARED: set[str] = set()


def prepare(config):
    """`prepare` of toy.prepared: runs in the main thread before any stage starts."""
    if config["prepare_fails"]:
        raise RuntimeError("cannot prepare")
    PREPARED.add(config["token"])


class Prepared(Stage):
    """Emits its token once, only if its prepare ran first."""

    def run(self):
        if self.config["token"] not in PREPARED:
            raise StageFailed("started before its prepare ran")
        self.ctx.output("numbers").put(len(self.config["token"]))


INT = "toy/int"


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            "toy.count",
            f"{__name__}:Count",
            "Counts upward.",
            outputs=(Port("numbers", INT),),
            schema=settings(
                {
                    "limit": {"type": "integer", "minimum": 0, "default": 10},
                    "delay": {"type": "number", "minimum": 0, "default": 0},
                    "fail_at": {"type": ["integer", "null"], "default": None},
                }
            ),
        ),
        StageType(
            "toy.scale",
            f"{__name__}:Scale",
            "Multiplies numbers.",
            inputs=(Port("numbers", INT, many=True),),
            outputs=(Port("numbers", INT),),
            schema=settings({"factor": {"type": "integer", "default": 2}}),
        ),
        StageType(
            "toy.collect",
            f"{__name__}:Collect",
            "Writes what it receives to a file.",
            inputs=(Port("numbers", INT), Port("hint", INT, kind="latest", required=False)),
            outputs=(Port("feedback", INT, required=False),),
            schema=settings({"path": {"type": "string"}}, required=["path"]),
        ),
        StageType(
            "toy.take",
            f"{__name__}:Take",
            "Takes a few numbers, then finishes.",
            inputs=(Port("numbers", INT),),
            schema=settings(
                {"count": {"type": "integer", "minimum": 1, "default": 5}, "path": {"type": "string"}},
                required=["path"],
            ),
        ),
        StageType(
            "toy.prepared",
            f"{__name__}:Prepared",
            "Needs its prepare to have run.",
            outputs=(Port("numbers", INT),),
            prepare=f"{__name__}:prepare",
            schema=settings(
                {
                    "token": {"type": "string", "default": "t"},
                    "prepare_fails": {"type": "boolean", "default": False},
                }
            ),
        ),
        StageType(
            "toy.native_a",
            f"{__name__}:Count",
            "A native-declared stage (for planning tests).",
            outputs=(Port("numbers", INT),),
            segment="toy",
            schema=settings({}),
        ),
        StageType(
            "toy.native_b",
            f"{__name__}:Scale",
            "A native-declared stage (for planning tests).",
            inputs=(Port("numbers", INT),),
            outputs=(Port("numbers", INT),),
            segment="toy",
            schema=settings({}),
        ),
        StageType(
            "toy.other_engine",
            f"{__name__}:Scale",
            "A stage of another engine: never fuses with toy's.",
            inputs=(Port("numbers", INT),),
            outputs=(Port("numbers", INT),),
            segment="other",
            schema=settings({}),
        ),
    ]
