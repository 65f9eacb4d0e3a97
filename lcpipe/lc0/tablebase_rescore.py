"""Syzygy rescoring of a game's result target: the Python reference of the
native ``loader.rescore`` stage with ``syzygy_paths`` (the tests' oracle).

The rule (docs/loader.md, "Tablebase rescoring"): walking a game's frames in
order, a frame is an *anchor* when its position has no castling right, no
more pieces than the largest table, rule50 == 0 (so the table's WDL is exact
under the 50-move rule) and the tables give it a WDL value. The anchor's
value for its side to move is +1 for a win, -1 for a loss and 0 otherwise
(cursed wins and blessed losses are draws under the 50-move rule that lc0
games are played with). Every frame after the previous anchor, up to and
including this one, gets that value as its result, negated where the other
side is to move; result_d is 1 for a draw, else 0. Frames after the last
anchor keep the game's result. plies_left is left alone.

Positions come from ``lcpipe.lc0.decoder`` (python-chess boards) and are
probed with python-chess's ``chess.syzygy``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.syzygy
import numpy as np

from lcpipe.lc0.decoder import decode_frame, frame_black_to_move


@dataclass
class TablebaseStats:
    games: int = 0  # games with at least one anchor
    frames_changed: int = 0  # frames whose (result_q, result_d) changed
    probes: int = 0  # positions looked up (covered, rule50 == 0)
    misses: int = 0  # looked up but no value (table missing or unreadable)


def max_pieces(directories: list[str | os.PathLike]) -> int:
    """Largest piece count (kings included) of a WDL table in the directories."""
    best = 0
    for d in directories:
        for p in Path(d).glob("*.rtbw"):
            best = max(best, len(p.stem.replace("v", "")))
    return best


class TablebaseRescorer:
    """Rescores games' result targets from the Syzygy tables in ``directories``."""

    def __init__(self, directories: list[str | os.PathLike]):
        self.tablebase = chess.syzygy.Tablebase()
        for d in directories:
            self.tablebase.add_directory(str(d))
        self.max_pieces = max_pieces(directories)
        self.stats = TablebaseStats()

    def close(self) -> None:
        self.tablebase.close()

    def __enter__(self) -> TablebaseRescorer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def anchor_value(self, frame: np.void) -> int | None:
        """+1 / 0 / -1 for the frame's side to move if it is an anchor, else None."""
        if int(frame["rule50_count"]) != 0:
            return None
        board = decode_frame(frame).board
        if board.castling_rights or chess.popcount(board.occupied) > self.max_pieces:
            return None
        self.stats.probes += 1
        wdl = self.tablebase.get_wdl(board)
        if wdl is None:
            self.stats.misses += 1
            return None
        return 1 if wdl == 2 else -1 if wdl == -2 else 0

    def rescore(self, frames: np.ndarray) -> np.ndarray:
        """A copy of one game's frames with result_q / result_d rescored."""
        out = frames.copy()
        black = [frame_black_to_move(f) for f in out]
        first = 0
        anchored = False
        for i in range(len(out)):
            value = self.anchor_value(out[i])
            if value is None:
                continue
            for k in range(first, i + 1):
                same = black[k] == black[i]
                q = np.float32(0.0 if value == 0 else (value if same else -value))
                d = np.float32(1.0 if value == 0 else 0.0)
                if out[k]["result_q"] != q or out[k]["result_d"] != d:
                    self.stats.frames_changed += 1
                out[k]["result_q"] = q
                out[k]["result_d"] = d
            first = i + 1
            anchored = True
        self.stats.games += int(anchored)
        return out
