"""What ``lcpipe data stats`` counts over games: versions, input formats, the result
distribution (from white's side, with the share adjudicated) and the distribution of game
lengths (frames per game) as percentiles and a histogram."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from lcpipe.lc0 import game_facts

HISTOGRAM_BINS = 10
BAR_WIDTH = 40


@dataclass
class GameStats:
    games: int = 0
    frames: int = 0
    versions: Counter = field(default_factory=Counter)
    formats: Counter = field(default_factory=Counter)
    results: Counter = field(default_factory=Counter)
    adjudicated: Counter = field(default_factory=Counter)  # result -> adjudicated games
    lengths: list[int] = field(default_factory=list)

    def add(self, frames: np.ndarray) -> None:
        self.games += 1
        self.frames += len(frames)
        self.lengths.append(len(frames))
        self.versions.update(frames["version"].tolist())
        self.formats.update(frames["input_format"].tolist())
        result = game_facts.result(frames)
        self.results[result] += 1
        if game_facts.adjudicated(frames):
            self.adjudicated[result] += 1

    def result_lines(self) -> list[str]:
        if not self.games:
            return ["results: none"]
        lines = ["results (adjudicated: resigned or stopped, invariance bit 5):"]
        for result in game_facts.RESULTS:
            n, adj = self.results[result], self.adjudicated[result]
            lines.append(f"  {result:<6} {n:6d}  {100 * n / self.games:5.1f}%  adjudicated {adj}")
        return lines

    def length_lines(self) -> list[str]:
        if not self.lengths:
            return []
        lengths = np.asarray(self.lengths)
        p = np.percentile(lengths, [10, 50, 90]).round(1)
        lines = [
            f"frames per game: min {lengths.min()} p10 {p[0]:g} median {p[1]:g} p90 {p[2]:g} "
            f"max {lengths.max()} mean {lengths.mean():.1f}"
        ]
        edges = np.unique(
            np.linspace(lengths.min(), lengths.max() + 1, HISTOGRAM_BINS + 1).round().astype(int)
        )
        counts, _ = np.histogram(lengths, bins=edges)
        top = max(int(counts.max()), 1)
        for lo, hi, n in zip(edges[:-1], edges[1:], counts):
            bar = "#" * int(round(BAR_WIDTH * n / top))
            lines.append(f"  {lo:5d}-{hi - 1:<5d} {n:6d} {bar}")
        return lines
