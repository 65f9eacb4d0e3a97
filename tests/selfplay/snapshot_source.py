"""A test-only plugin stage: emits one freshly initialised tiny network snapshot."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage


class SnapshotSource(Stage):
    def run(self) -> None:
        from selfplay_testlib import TINY_RESNET, TINY_TRANSFORMER, make_snapshot

        model = TINY_RESNET if self.config["body"] == "resnet" else TINY_TRANSFORMER
        self.ctx.output("weights").put(
            make_snapshot(model, seed=self.config["seed"], step=self.config["step"])
        )


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="test.snapshot",
            factory=f"{__name__}:SnapshotSource",
            description="one tiny initialised network",
            outputs=(Port("weights", "weights"),),
            schema=settings(
                {
                    "body": {
                        "enum": ["resnet", "transformer"],
                        "default": "resnet",
                        "description": "body type",
                    },
                    "seed": {"type": "integer", "default": 0, "description": "init seed"},
                    "step": {"type": "integer", "default": 7, "description": "step reported by the snapshot"},
                }
            ),
        )
    ]
