"""Shared helpers of the lc0 data tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import functools

import chess

from lcpipe.lc0 import synth


@functools.cache
def games(n: int = 4, seed: int = 7, fmt: int = 1, version: int = 6, max_plies: int = 60):
    """Cached synthetic games (tests must not modify the arrays)."""
    out = synth.generate_games(n, seed=seed, input_format=fmt, version=version, max_plies=max_plies)
    for _, arr in out:
        arr.flags.writeable = False
    return out


def parse_lc0_uci(board: chess.Board, uci: str) -> chess.Move:
    """A move as lc0 logs it (castling as king takes rook) in python-chess terms."""
    move = board.parse_uci(uci)  # python-chess accepts king-takes-rook castling
    assert move in board.legal_moves
    return move


PGN = """[Event "mate"]
[Result "1-0"]

1. e4 { [%eval 0.3] } e5 { [%eval 0.25] } 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0

[Event "illegal"]
[Result "0-1"]

1. e4 e5 2. Ke3 Nf6 0-1

[Event "multipv"]
[Result "1/2-1/2"]

1. d4 ( 1. e4 { [%eval 0.4] } ) { [%eval 0.2] } d5 { [%policy d7d5:0.7 Nf6:0.3] } 2. c4 { [%eval #3] } 1/2-1/2

[Event "unfinished"]
[Result "*"]

1. e4 *
"""
