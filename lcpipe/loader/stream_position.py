"""Where a consumer stands in a loader output's batch stream, and how it moves there.

A loader segment numbers the batches of each output (``Batch.seq``: 0 for the
first batch its ``loader.batch`` stage cut) and attaches one ``BatchStream`` to
all of them. A trainer resumed from a checkpoint that recorded "next batch N of
stream S" asks the stream to ``seek(N)``: the batch stage then cuts batches
below N from their frames as before, so every stage upstream advances exactly
as it did in the first run, but neither encodes nor hands them on. Batches
below N already queued are dropped by the trainer by their number.
"""

from __future__ import annotations

from collections.abc import Callable


class BatchStream:
    """The seekable batch stream of one loader output, named ``stage.port``."""

    def __init__(self, name: str, seek: Callable[[int], None]):
        self.name = name
        self._seek = seek

    def seek(self, next_batch: int) -> None:
        """Fast-forward so that the next batch handed on is number ``next_batch`` (never back)."""
        if next_batch < 0:
            raise ValueError(f"{self.name}: batch number {next_batch} is negative")
        self._seek(int(next_batch))
