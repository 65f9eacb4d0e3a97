"""A test-only plugin stage: the single-process reference of a two-process run.

Process i of a two-process run trains on its own shard's batches (half the global batch); one
process with two devices sees the same global batches when it reads both shards in two loader
branches and joins one batch of each, shard 0's rows first (the order jax lays out the
processes' shares of the global batch).
"""

from __future__ import annotations

import numpy as np

from lcpipe.plugin import Port, StageType, hookimpl, settings
from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import Stage
from lcpipe.types import Batch

ROWS = ("inputs", "probabilities", "values", "opponent_idx", "next_idx", "weights", "input_formats")


class JoinPairs(Stage):
    def run(self) -> None:
        first, second = self.ctx.input("first"), self.ctx.input("second")
        out = self.ctx.output("batches")
        while True:
            try:
                a, b = first.get(), second.get()
            except ChannelClosed:
                return
            joined = {
                k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in ROWS if getattr(a, k) is not None
            }
            if not out.put(Batch(**joined)):
                return


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="pairs.join",
            factory="batch_pairs:JoinPairs",
            description="One batch of `first` then one of `second`, as one batch.",
            inputs=(Port("first", "batches"), Port("second", "batches")),
            outputs=(Port("batches", "batches"),),
            schema=settings({}),
        )
    ]
