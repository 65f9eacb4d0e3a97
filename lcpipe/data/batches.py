"""The ``data.batches`` stage: the pure-Python reference loader.

Reads chunk files and tars as their paths arrive, samples positions, shuffles
them through a bounded buffer and emits ``Batch`` objects built by the
reference decoder (``lcpipe.lc0.tensors``). The native ``loader.*`` stages do
the same job much faster; this one exists for small runs, debugging and as
the yardstick the native loader is checked against.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lcpipe.lc0 import chunks, tensors
from lcpipe.lc0.limits import InputLimits
from lcpipe.lc0.report import ReadReport
from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import Stage


class BatchesStage(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        cfg = self.config
        self.rng = np.random.default_rng(cfg["seed"])
        self.batch_size = int(cfg["batch_size"])
        self.buffer: list[np.ndarray] = []  # single frames (structured scalars as 1-element arrays)
        self.buffered = 0
        self.files: list[Path] = []
        self.report = ReadReport()
        self.limits = InputLimits.from_mb(float(cfg["max_chunk_mb"]), float(cfg["max_file_mb"]))
        self.warned = 0
        self.emitted = 0
        self.positions = 0
        self.started = time.monotonic()

    def _add_file(self, path: Path) -> None:
        rate = float(self.config["sampling_rate"])
        for _, frames in chunks.iter_games(path, self.report, self.limits):
            if rate < 1.0:
                frames = frames[self.rng.random(len(frames)) < rate]
            if len(frames):
                self.buffer.append(np.array(frames))
                self.buffered += len(frames)
        for problem in self.report.problems[self.warned :]:  # each bad input is logged once
            self.ctx.warning(f"skipped: {problem}")
        self.warned = len(self.report.problems)

    def _emit_ready(self, final: bool = False) -> bool:
        """Emit batches while the buffer holds enough; False when stopping."""
        capacity = int(self.config["shuffle_buffer"])
        while (
            self.buffered >= max(self.batch_size, capacity if not final else 0)
            and self.buffered >= self.batch_size
        ):
            pool = np.concatenate(self.buffer)
            self.rng.shuffle(pool) if self.config["shuffle"] else None
            batch_frames, rest = pool[: self.batch_size], pool[self.batch_size :]
            self.buffer, self.buffered = ([rest] if len(rest) else []), len(rest)
            if not self.ctx.output("batches").put(tensors.frames_to_batch(batch_frames)):
                return False
            self.emitted += 1
            self.positions += self.batch_size
            if self.ctx.every(1.0):
                self._metrics()
        return True

    def _metrics(self) -> None:
        elapsed = max(1e-9, time.monotonic() - self.started)
        self.ctx.metrics(
            {
                "batches": self.emitted,
                "positions_per_s": self.positions / elapsed,
                "files": len(self.files),
                "buffered": self.buffered,
                "skipped": self.report.skipped,
            },
            step=self.emitted,
        )

    def run(self) -> None:
        paths = self.ctx.input("paths")
        while not self.ctx.stopping:
            try:
                path = Path(paths.get(timeout=0.2))
            except TimeoutError:
                continue
            except ChannelClosed:
                break
            self.files.append(path)
            self._add_file(path)
            if not self._emit_ready():
                return
        passes = int(self.config["passes"])
        done = 1
        while not self.ctx.stopping and self.files and (passes == 0 or done < passes):
            for i in self.rng.permutation(len(self.files)):
                self._add_file(self.files[i])
                if not self._emit_ready():
                    return
            done += 1
        if not self.ctx.stopping:
            self._emit_ready(final=True)
        self._metrics()
