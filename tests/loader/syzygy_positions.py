"""Random legal endgame positions for a Syzygy table's material (tests and benchmarks/bench_syzygy.py).

A table name such as "KQvKR" gives white's pieces before the 'v'; `swap=True` gives them to black
instead (KvKQ-as-black). Positions are drawn uniformly (pawns off the back ranks), kept when
python-chess calls them valid.
"""

from __future__ import annotations

import random
from pathlib import Path

import chess

LETTERS = {
    "K": chess.KING,
    "Q": chess.QUEEN,
    "R": chess.ROOK,
    "B": chess.BISHOP,
    "N": chess.KNIGHT,
    "P": chess.PAWN,
}


def table_names(directory: Path) -> list[str]:
    """Every material with a WDL table in `directory`, e.g. ["KBNvK", ...]."""
    return sorted(p.stem for p in Path(directory).glob("*.rtbw"))


def sides(name: str, swap: bool) -> tuple[str, str]:
    white, black = name.split("v")
    return (black, white) if swap else (white, black)


def _place(rng: random.Random, board: chess.Board, letters: str, color: bool, *, rank7: bool = False) -> bool:
    for ch in letters:
        for _ in range(100):
            if ch == "P" and rank7:  # a pawn one step from promoting
                sq = chess.square(rng.randrange(8), 6 if color == chess.WHITE else 1)
            else:
                sq = rng.randrange(64)
            if board.piece_at(sq) is None and not (ch == "P" and chess.square_rank(sq) in (0, 7)):
                board.set_piece_at(sq, chess.Piece(LETTERS[ch], color))
                break
        else:
            return False
    return True


def random_board(
    rng: random.Random, name: str, swap: bool = False, *, promoting: bool = False
) -> chess.Board:
    """A valid position of the material; `promoting` puts the side to move's pawns on their 7th rank."""
    white, black = sides(name, swap)
    while True:
        board = chess.Board(None)
        board.turn = rng.random() < 0.5
        ok = _place(rng, board, white, chess.WHITE, rank7=promoting and board.turn == chess.WHITE)
        ok = ok and _place(rng, board, black, chess.BLACK, rank7=promoting and board.turn == chess.BLACK)
        if ok and board.is_valid():
            return board


def en_passant_board(rng: random.Random, name: str, swap: bool = False) -> chess.Board | None:
    """A valid position where the side to move can capture en passant (None after many misses).

    The side not to move has just played a pawn two squares, next to a pawn of the side to move.
    """
    white, black = sides(name, swap)
    if "P" not in white or "P" not in black:
        return None
    for _ in range(1000):
        board = chess.Board(None)
        board.turn = rng.random() < 0.5
        mover, pusher = board.turn, not board.turn
        file = rng.randrange(8)
        rank = 4 if mover == chess.WHITE else 3  # where the pushed pawn landed
        board.set_piece_at(chess.square(file, rank), chess.Piece(chess.PAWN, pusher))
        capturer_file = file + rng.choice([-1, 1])
        if not 0 <= capturer_file < 8:
            continue
        board.set_piece_at(chess.square(capturer_file, rank), chess.Piece(chess.PAWN, mover))
        rest = {chess.WHITE: list(white), chess.BLACK: list(black)}
        rest[pusher].remove("P")
        rest[mover].remove("P")
        if not (
            _place(rng, board, "".join(rest[chess.WHITE]), chess.WHITE)
            and _place(rng, board, "".join(rest[chess.BLACK]), chess.BLACK)
        ):
            continue
        behind = chess.square(file, rank + (1 if mover == chess.WHITE else -1))
        start = chess.square(file, rank + (2 if mover == chess.WHITE else -2))
        if board.piece_at(behind) or board.piece_at(start):
            continue
        board.ep_square = behind
        if board.is_valid() and board.has_legal_en_passant():
            return board
    return None
