"""Games for the chess-layer tests: random games from python-chess and the real lc0 fixture games.

A unique module name: tests/ has no packages.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import chess
import numpy as np

from lcpipe.lc0 import synth


@functools.cache
def random_games(
    n: int, seed: int, max_plies: int = 300, chess960: bool = False, repeat_bias: float = 0.0
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(start FEN, UCI moves) of `n` random games.

    ``repeat_bias``: chance per ply of moving the piece that moved two plies
    ago back where it came from (when legal), so games repeat positions.
    Half the time a special move (castling, en passant, promotion) is
    preferred when one is legal: uniform play seldom takes en passant.
    Moves are written as python-chess writes them for the board's mode.
    """
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        board = chess.Board.from_chess960_pos(rng.randrange(960)) if chess960 else chess.Board()
        board.chess960 = chess960
        start = board.fen()
        moves: list[str] = []
        while len(moves) < max_plies and not board.is_game_over(claim_draw=False):
            legal = list(board.legal_moves)
            special = [m for m in legal if board.is_castling(m) or board.is_en_passant(m) or m.promotion]
            move = rng.choice(special if special and rng.random() < 0.5 else legal)
            if repeat_bias and len(board.move_stack) >= 2 and rng.random() < repeat_bias:
                back = board.move_stack[-2]
                undo = chess.Move(back.to_square, back.from_square)
                if undo in legal:
                    move = undo
            moves.append(board.uci(move))
            board.push(move)
        out.append((start, tuple(moves)))
    return tuple(out)


@functools.cache
def endgame_games(
    materials: tuple[str, ...], seed: int, max_plies: int = 40, take_mates: bool = False
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Random play from random endgames (pawnless ones are where canonical formats mirror and
    transpose); with ``take_mates`` a mating move is played whenever there is one."""
    rng = np.random.default_rng(seed)
    out = []
    for material in materials:
        board = chess.Board(synth.random_endgame(rng, material))
        start = board.fen()
        moves: list[str] = []
        while len(moves) < max_plies and not board.is_game_over(claim_draw=False):
            legal = list(board.legal_moves)
            move = legal[int(rng.integers(len(legal)))]
            if take_mates:
                move = next((m for m in legal if _mates(board, m)), move)
            moves.append(move.uci())
            board.push(move)
        out.append((start, tuple(moves)))
    return tuple(out)


def _mates(board: chess.Board, move: chess.Move) -> bool:
    board.push(move)
    try:
        return board.is_checkmate()
    finally:
        board.pop()


def boards_along(fen: str, moves: tuple[str, ...] | list[str], chess960: bool = False):
    """(python-chess board, plies played) at every position of a game (the board is reused: copy to keep)."""
    board = chess.Board(fen, chess960=chess960)
    yield board, 0
    for i, uci in enumerate(moves, start=1):
        board.push(board.parse_uci(uci))
        yield board, i


def fixture_games(fixtures: Path) -> list[tuple[str, list[str]]]:
    """(chunk name, UCI moves) of the 80 real lc0 self-play games (castling as king takes rook)."""
    out = []
    for line in (fixtures / "lc0-selfplay" / "games.txt").read_text().splitlines():
        parts = line.split()
        if parts:
            out.append((parts[0], parts[parts.index("moves") + 1 :]))
    return out
