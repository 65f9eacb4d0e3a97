"""The Python reference search (lcpipe.selfplay.mcts) set up for play rather than self-play.

Play means: no Dirichlet noise, the same first-play urgency at the root as
below it (lc0's play default), no tree reuse, the most visited move. The
``SearchSession`` advances one tree a few playouts at a time, so that a UCI
``stop`` or a time limit can end it between playouts, and reports what a
UCI ``info`` line shows.
"""

from __future__ import annotations

import math
from dataclasses import replace

import chess
import numpy as np

from lcpipe.lc0.encoder import GameHistory, position_key
from lcpipe.selfplay.mcts import Node, SearchConfig, Tree, run_simulations


def play_config(visits: int, **overrides) -> SearchConfig:
    base = SearchConfig()
    cfg = replace(
        base, visits=int(visits), noise_epsilon=0.0, fpu_reduction_root=base.fpu_reduction, tree_reuse=False
    )
    return replace(cfg, **overrides)


def tree_for(board: chess.Board, cfg: SearchConfig) -> Tree:
    """A fresh tree at ``board``; the move stack gives the history and the repetition counts."""
    if not any(board.legal_moves):
        raise ValueError(f"no legal moves to search in {board.fen()}")
    history = GameHistory.from_board(board)
    seen: dict = {}
    replay = board.root()
    seen[position_key(replay)] = 1
    for move in board.move_stack:
        replay.push(move)
        key = position_key(replay)
        seen[key] = seen.get(key, 0) + 1
    return Tree(board.copy(), history.snapshots, seen, np.random.default_rng(0), cfg)


def q_to_cp(q: float) -> int:
    """lc0's centipawn score for an expected outcome q in [-1, 1]."""
    q = max(-0.999999, min(0.999999, q))
    return int(round(90.0 * math.tan(1.5637541897 * q)))


class SearchSession:
    """One position searched incrementally (the UCI engine's search)."""

    def __init__(self, board: chess.Board, evaluator, cfg: SearchConfig):
        self.board = board.copy()
        self.evaluator = evaluator
        self.cfg = cfg
        self.tree = tree_for(board, cfg)

    @property
    def nodes(self) -> int:
        return self.tree.root.n

    def playout(self) -> None:
        run_simulations([self.tree], self.evaluator, self.cfg)

    def best_move(self) -> chess.Move:
        root = self.tree.root
        if not root.moves:  # not even the root was evaluated yet
            self.playout()
            root = self.tree.root
        return root.moves[root.best_edge()]

    def pv(self) -> list[chess.Move]:
        """Most visited line from the root, as far as it was visited."""
        line = []
        node: Node | None = self.tree.root
        while node is not None and node.moves and node.n_edge.sum() > 0:
            i = node.best_edge()
            line.append(node.moves[i])
            node = node.children[i]
        return line

    def wdl(self) -> tuple[float, float, float]:
        """Win, draw, loss probabilities for the side to move (the root's averaged value)."""
        root = self.tree.root
        q, d = root.q(), root.d()
        w = max(0.0, (1.0 + q - d) / 2.0)
        l = max(0.0, (1.0 - q - d) / 2.0)
        return w, max(0.0, d), l

    def score_cp(self) -> int:
        return q_to_cp(self.tree.root.q())
