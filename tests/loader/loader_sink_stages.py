"""A Python stage that consumes batches, for running loader specs through the
real runtime in tests (registered like a third-party plugin)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lcpipe.plugin import Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage


class BatchSink(Stage):
    """Checks each batch's layout and writes a summary to a JSON file."""

    def run(self):
        shapes, rows, sums = [], 0, []
        for batch in self.ctx.input("batches"):
            assert batch.inputs.dtype == np.float32 and batch.inputs.shape[1:] == (112, 8, 8)
            legal = np.where(batch.probabilities >= 0, batch.probabilities, 0).sum(axis=1)
            sums.extend(float(s) for s in legal)
            shapes.append(list(batch.inputs.shape))
            rows += len(batch)
        Path(self.config["path"]).write_text(
            json.dumps({"shapes": shapes, "rows": rows, "policy_sums": sums})
        )


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="test.batch_sink",
            factory="loader_sink_stages:BatchSink",
            description="Test sink: records the batches it receives.",
            inputs=(Port("batches", "batches"),),
            schema=settings(
                {"path": {"type": "string", "default": "sink.json", "description": "Summary file."}}
            ),
        )
    ]
