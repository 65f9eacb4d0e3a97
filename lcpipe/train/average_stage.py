"""The train.swa and train.ema stages: a weight average over train.jax's weight stream.

The average stays on the device; a network goes out (a host copy) only when the trainer emits
one. For bodies with batch norm its statistics are recomputed for the averaged weights on the
latest ``bn_batches`` device batches the trainer trained on.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.types import NetworkSnapshot

KINDS = {"train.swa": "swa", "train.ema": "ema"}


class AverageStage(Stage):
    """Keeps one average (SWA or EMA, by stage type) and emits it as a network of its kind."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.kind = KINDS[ctx.stage_type]
        cfg = ctx.config
        self.every = int(cfg["period"]) if self.kind == "swa" else 1
        self.batches: deque = deque(maxlen=int(cfg["bn_batches"]) or 1)
        self.bn_batches = int(cfg["bn_batches"])
        self.opened: Any = None  # the StreamOpen
        self.state: Any = None  # {"average", "count"}
        self.stats: Any = None  # the average's batch-norm statistics ({} for bodies without)
        self.stats_fresh = False  # recomputed since the average or the latest batches changed
        self.raw_stats: Any = None  # the raw model's latest running statistics (the tree to fill)

    def run(self) -> None:
        from lcpipe.train import weight_stream as ws

        handlers = {
            ws.StreamOpen: self._open,
            ws.Restore: self._restore,
            ws.TrainedStep: self._step,
            ws.StateRequest: self._answer_state,
            ws.NetworkDue: self._network,
        }
        # Read to the end of the stream even when stopping: the trainer's last checkpoint asks for
        # this stage's state after the stop.
        for message in self.ctx.input("steps"):
            handler = handlers.get(type(message))
            if handler is None:
                raise StageFailed(f"{self.ctx.name}: unexpected item on the weight stream: {message!r}")
            handler(message)

    def _open(self, message) -> None:
        from lcpipe.train import averages

        self.opened = message
        if self.kind == "swa":
            self.update = averages.swa_update(int(self.ctx.config["max_count"]))
        else:
            self.update = averages.ema_update(float(self.ctx.config["decay"]))
        self.recompute = averages.BatchNormStatistics(message.model, message.precision)
        message.answers.answer(self.ctx.name, self.every)

    def _restore(self, message) -> None:
        import jax

        from lcpipe.train import averages

        self.raw_stats = message.batch_stats
        self.batches.clear()
        saved = message.states.get(self.ctx.name)
        if saved is None:
            self.state = averages.start(message.params)
            self.stats = message.batch_stats
        else:
            placed = jax.device_put(saved, self.opened.sharding)
            self.state = {"average": placed["average"], "count": placed["count"]}
            self.stats = placed.get("batch_stats", {})
            self.ctx.info(f"resumed the {self.kind} average of step {message.step}")
        self.stats_fresh = True
        jax.block_until_ready((self.state, self.stats))  # placed before the trainer steps on
        message.answers.answer(self.ctx.name, True)

    def _step(self, message) -> None:
        self.batches.append(message.batch)  # device references: no copy
        self.stats_fresh = False  # computed lazily: only for a network or a checkpoint
        if message.params is None or message.step % self.every:
            return
        self.state = self.update(self.state, message.params)
        self.raw_stats = message.batch_stats

    def _statistics(self):
        """The average's batch-norm statistics, recomputed at most once per step."""
        if not self.stats_fresh and self.bn_batches and self.raw_stats and self.batches:
            self.stats = self.recompute(self.state["average"], self.raw_stats, list(self.batches))
            self.stats_fresh = True
        elif not self.bn_batches or not self.raw_stats:
            self.stats = self.raw_stats  # no batch norm, or bn_batches 0: the raw model's
        return self.stats

    def _answer_state(self, message) -> None:
        import jax

        state = dict(self.state)
        stats = self._statistics()
        if stats:
            state["batch_stats"] = stats
        # Computed before the answer lets the trainer step on: the statistics' programs reduce
        # over the trainer's devices and must not run beside a train step's (XLA:CPU deadlocks).
        message.answers.answer(self.ctx.name, jax.block_until_ready(state))

    def _network(self, message) -> None:
        from lcpipe.train.trainer import fetch

        variables = {"params": fetch(self.state["average"])}
        stats = self._statistics()
        if stats:
            variables["batch_stats"] = fetch(stats)
        snap = NetworkSnapshot(
            step=message.step,
            model=dict(self.opened.model),
            params=variables,
            kind=self.kind,
            input_format=self.opened.input_format,
            extra={"precision": self.opened.precision, "averaged": int(fetch(self.state["count"]))},
        )
        self.ctx.metrics({f"{self.kind}/count": float(snap.extra["averaged"])}, message.step)
        out = self.ctx.output("weights")
        if message.final:
            out.put_final(snap)
        else:
            out.put(snap)  # refused once the run stops: the trainer sends a final one if due
