"""What the arena asks of an engine: a move for each of many games at once.

A ``Player`` receives the positions of all the games waiting for it (each
with its full move history on the board's move stack) and returns one move
per position, so a network engine can search them together and evaluate
their leaves in shared batches. A new ``game`` number tells the player that
a new game started (an engine may drop its tree or send ``ucinewgame``).

The Python search implements it here (``MctsPlayer``), a UCI engine in
``lcpipe.arena.uci_player``; the native engine will implement the same two
methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import chess


@dataclass(frozen=True)
class MoveRequest:
    game: int  # the match's game number: unique per game, so a new number means a new game
    board: chess.Board  # the current position; its move stack is the game so far (read, never changed)


@runtime_checkable
class Player(Protocol):
    name: str

    def choose_moves(self, requests: Sequence[MoveRequest]) -> list[chess.Move]:
        """One legal move for each request, in order."""

    def close(self) -> None:
        """Release processes, threads or device memory."""


class MctsPlayer:
    """The Python PUCT search with fixed visits per move: no noise, the most visited move, no tree reuse."""

    def __init__(self, evaluator, visits: int, name: str = "mcts", **search):
        from lcpipe.arena.python_search import play_config

        if visits < 1:
            raise ValueError(f"visits per move must be at least 1, got {visits}")
        self.name = name
        self.evaluator = evaluator
        self.cfg = play_config(
            visits, input_format=int(getattr(evaluator, "input_format", None) or 1), **search
        )

    def choose_moves(self, requests: Sequence[MoveRequest]) -> list[chess.Move]:
        from lcpipe.arena.python_search import tree_for
        from lcpipe.selfplay.mcts import run_simulations

        trees = [tree_for(r.board, self.cfg) for r in requests]
        pending = trees
        while pending:  # one playout per unfinished tree per round, their leaves in one network batch
            run_simulations(pending, self.evaluator, self.cfg)
            pending = [t for t in pending if t.root.n < self.cfg.visits]
        return [t.root.moves[t.root.best_edge()] for t in trees]

    def close(self) -> None:
        pass
