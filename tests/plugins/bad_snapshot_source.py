"""A test-only plugin stage: emits one network snapshot that no evaluator can run."""

from __future__ import annotations

from lcpipe.plugin import NetworkSnapshot, Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage


class BadSnapshotSource(Stage):
    def run(self) -> None:
        self.ctx.output("weights").put(NetworkSnapshot(step=5, model={"body": "no-such-body"}, params={}))


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="test.bad_snapshot",
            factory=f"{__name__}:BadSnapshotSource",
            description="one network snapshot that cannot be run",
            outputs=(Port("weights", "weights"),),
            schema=settings({}),
        )
    ]
