"""The average policy of the start position across games (lc0's startpos_policy_distribution).

A game contributes its first frame when that frame is the standard start
position (white to move, every castling right): self-play data shows how the
search's visit distribution at move one drifts between networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import chess
import numpy as np

from lcpipe.lc0 import decoder, policy

_START = chess.Board()


def is_start_position(frame: np.void) -> bool:
    board = decoder.decode_frame(frame).board
    return (
        board.board_fen() == _START.board_fen()
        and board.turn == chess.WHITE
        and board.castling_rights == _START.castling_rights
    )


@dataclass
class StartPolicy:
    """Sums of the start position's policy over the games seen; moves keyed by UCI."""

    games: int = 0
    other_starts: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    squares: dict[str, float] = field(default_factory=dict)
    played: dict[str, int] = field(default_factory=dict)

    def add(self, frames: np.ndarray) -> None:
        first = frames[0]
        if not is_start_position(first):
            self.other_starts += 1
            return
        d = decoder.decode_frame(first)
        probs = first["probabilities"].astype(np.float64)
        legal = probs >= 0
        total = probs[legal].sum()
        if total <= 0:
            self.other_starts += 1
            return
        self.games += 1
        for idx in np.flatnonzero(legal):
            uci = policy.index_to_move(d.board, int(idx), d.transform).uci()
            p = probs[idx] / total  # real data need not sum to 1 exactly
            self.sums[uci] = self.sums.get(uci, 0.0) + p
            self.squares[uci] = self.squares.get(uci, 0.0) + p * p
        played = policy.index_to_move(d.board, int(first["played_idx"]), d.transform).uci()
        self.played[played] = self.played.get(played, 0) + 1

    def table(self) -> list[tuple[str, float, float, float]]:
        """(move, mean policy, standard deviation, share of games that played it), best first."""
        if not self.games:
            return []
        rows = []
        for uci, s in self.sums.items():
            mean = s / self.games
            var = max(self.squares[uci] / self.games - mean * mean, 0.0)
            rows.append((uci, mean, var**0.5, self.played.get(uci, 0) / self.games))
        return sorted(rows, key=lambda r: (-r[1], r[0]))
