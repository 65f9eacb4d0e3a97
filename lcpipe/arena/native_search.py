"""The native search (``lcpipe._native.PositionSearch``) set up for play, and its incremental session.

Play means what it means for the Python reference (``python_search``): no
Dirichlet noise, the same first-play urgency at the root as below it, no
tree reuse, the most visited move. ``NativeSession`` offers the surface of
``python_search.SearchSession`` that the UCI server uses (nodes, playout,
best move, principal variation, WDL, centipawns), so the server runs on
either engine.
"""

from __future__ import annotations

from dataclasses import asdict

import chess

from lcpipe.arena.python_search import play_config, q_to_cp
from lcpipe.selfplay.mcts import SEARCH_SETTINGS


def native_settings(cfg) -> dict:
    """The native engine's settings with the values of a ``SearchConfig``."""
    values = asdict(cfg)
    return {k: values[k] for k in SEARCH_SETTINGS}


def native_play_settings(visits: int, **overrides) -> dict:
    """The native engine's settings for play; the same values as ``python_search.play_config``."""
    return native_settings(play_config(visits, **overrides))


def position_search(board: chess.Board, settings: dict):
    """A fresh native search at ``board``; its move stack is passed as the game history."""
    import lcpipe._native as _native
    from lcpipe.selfplay.native import engine_settings

    if not any(board.legal_moves):
        raise ValueError(f"no legal moves to search in {board.fen()}")
    root = board.root()
    return _native.PositionSearch(engine_settings(settings), root.fen(), [m.uci() for m in board.move_stack])


class NativeSession:
    """One position searched natively, a few playouts at a time (the UCI engine's search)."""

    def __init__(self, board: chess.Board, evaluator, settings: dict):
        self.board = board.copy()
        self.evaluator = evaluator
        self.search = position_search(board, settings)
        self._outputs = (None, None, None)  # the network's answer for the leaf the search waits on

    @property
    def nodes(self) -> int:
        return int(self.search.visits)

    def playout(self, count: int = 1) -> None:
        """Run ``count`` more playouts (terminal ones need no network call)."""
        target = self.search.visits + count
        while self.search.step(target, *self._outputs):
            self.evaluator.evals += 1
            self.evaluator.calls += 1
            self._outputs = self.evaluator.evaluate_planes(self.search.inputs())
        self._outputs = (None, None, None)

    def best_move(self) -> chess.Move:
        if self.search.visits == 0:  # not even the root was evaluated yet
            self.playout()
        return chess.Move.from_uci(self.search.best_move())

    def pv(self) -> list[chess.Move]:
        """Most visited line from the root, as far as it was visited."""
        return [chess.Move.from_uci(u) for u in self.search.pv()]

    def wdl(self) -> tuple[float, float, float]:
        """Win, draw, loss probabilities for the side to move (the root's averaged value)."""
        q, d, _ = self.search.value()
        w = max(0.0, (1.0 + q - d) / 2.0)
        l = max(0.0, (1.0 - q - d) / 2.0)
        return w, max(0.0, d), l

    def score_cp(self) -> int:
        return q_to_cp(self.search.value()[0])
