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
    """The seekable batch stream of one loader output, named ``stage.port``; ``not_reproducible``
    says why moving to a batch number would not give the batches of an earlier run ("" if it does)."""

    def __init__(self, name: str, seek: Callable[[int], None], not_reproducible: str = ""):
        self.name = name
        self.not_reproducible = not_reproducible
        self._seek = seek

    def seek(self, next_batch: int) -> None:
        """Fast-forward so that the next batch handed on is number ``next_batch`` (never back)."""
        if next_batch < 0:
            raise ValueError(f"{self.name}: batch number {next_batch} is negative")
        self._seek(int(next_batch))


def not_reproducible(output_stage: str, members, internal_links) -> str:
    """Why the batches of ``output_stage`` are not a function of the data and the seeds alone
    (timing decides part of them), in words; "" when nothing in its settings says so. Not seen
    here: a pool whose window is smaller than a data set that is still being read."""
    by_name = {m.name: m for m in members}
    upstream, todo = set(), [output_stage]
    while todo:
        name = todo.pop()
        if name not in upstream:
            upstream.add(name)
            todo.extend(link.src for link in internal_links if link.dst == name)
    reasons = []
    for name in sorted(upstream):
        kind, cfg = by_name[name].stage_type, by_name[name].config
        if kind == "loader.watch" and cfg["follow"]:
            reasons.append(f"{name} keeps watching its directory (follow: true)")
        elif kind == "loader.chunk_pool":
            if cfg["wait_for_new"]:
                reasons.append(f"{name} waits for new games (wait_for_new)")
            if cfg["min_chunks"] or cfg["start_after_idle_seconds"]:
                reasons.append(
                    f"{name} may start before its input ends (min_chunks, start_after_idle_seconds)"
                )
        elif kind == "loader.merge":
            reasons.append(f"{name} interleaves its inputs as they come")
        elif kind == "loader.batch" and cfg["threads"] != 1:
            reasons.append(f"{name} cuts batches on {cfg['threads'] or 'all'} threads")
        elif kind == "loader.extract" and any(
            by_name[n].stage_type == "loader.read" and by_name[n].config["threads"] != 1 for n in upstream
        ):
            reasons.append(f"{name} takes chunks in the order several reading threads finish")
    return "; ".join(reasons)
