"""The arena's ``Player`` on the native search: every requested position searched at once.

Each request gets its own native ``PositionSearch`` (fixed visits, no noise,
root FPU as below the root, no tree reuse). The searches advance together:
each round, every search that still needs visits runs until its next leaf
needs the network, and the leaves of all of them go to the evaluator as one
batch. The native search runs without the GIL; Python only gathers the
leaves and hands out the network's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

from lcpipe.arena.native_search import native_play_settings, position_search
from lcpipe.arena.player import MoveRequest


class NativePlayer:
    """Fixed visits per move on the native engine; the leaves of all games in one network batch per round."""

    def __init__(self, evaluator, visits: int, name: str = "native", **search):
        if visits < 1:
            raise ValueError(f"visits per move must be at least 1, got {visits}")
        self.name = name
        self.evaluator = evaluator
        self.visits = int(visits)
        self.settings = native_play_settings(
            visits, input_format=int(getattr(evaluator, "input_format", None) or 1), **search
        )

    def choose_moves(self, requests: Sequence[MoveRequest]) -> list[chess.Move]:
        searches = [position_search(r.board, self.settings) for r in requests]
        outputs: list[tuple] = [(None, None, None)] * len(searches)
        pending = list(range(len(searches)))
        while pending:
            waiting = [i for i in pending if searches[i].step(self.visits, *outputs[i])]
            for i in pending:
                outputs[i] = (None, None, None)
            if waiting:
                planes = np.concatenate([searches[i].inputs() for i in waiting])
                logits, wdl, ml = self.evaluator.result(self.evaluator.submit_planes(planes))
                for row, i in enumerate(waiting):
                    outputs[i] = (logits[row : row + 1], wdl[row : row + 1], ml[row : row + 1])
            pending = waiting
        return [chess.Move.from_uci(s.best_move()) for s in searches]

    def close(self) -> None:
        pass
