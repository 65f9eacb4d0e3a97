"""The native loader's rebuild of a frame's position for the Syzygy prober
(csrc/loader/frame_position.cpp) against the python-chess boards the
project's encoder was given, in every input format."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from lcpipe import _native
from lcpipe.lc0 import bits
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.encoder import GameHistory, _ep_file, encode, fill_frames
from lcpipe.lc0.frames import CANONICAL_FORMATS, INPUT_FORMATS
from lcpipe.lc0.synth import random_endgame

_TYPES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)

# (start FEN or None, moves): double pushes with and without a pawn that can
# take en passant, for either side; castling rights kept and lost; pawnless
# endings (canonical formats mirror/transpose those).
LINES = [
    (None, "e2e4 a7a6 e4e5 d7d5 e5d6 e8d7 g1f3 h7h5 f1e2 h5h4 e1g1"),
    (None, "a2a3 e7e5 a3a4 e5e4 d2d4 e4d3 h2h4 b7b5 a4b5"),
    (None, "g2g4 h7h5 g4g5 f7f5 b1c3 e8f7"),
    ("4k3/8/8/8/3pP3/8/8/4K3 b - e3 0 1", "d4e3 e1f1"),
    ("3k4/8/8/8/4Pp2/8/8/1K6 b - e3 0 1", "d8c7"),
    ("4k3/1p6/8/P1P5/8/8/8/2K5 b - - 0 1", "b7b5 a5b6 e8d7"),
    ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1e2 h8h7 a1a8"),
    ("8/8/3k4/8/8/2QK4/8/8 w - - 12 40", "c3c6 d6e5 d3e3"),
    ("8/8/8/8/8/1k6/7q/K7 b - - 0 1", "h2h8 a1b1"),
]


def _boards() -> list[chess.Board]:
    out = []
    for fen, moves in LINES:
        board = chess.Board(fen) if fen else chess.Board()
        out.append(board.copy())
        for uci in moves.split():
            board.push_uci(uci)
            out.append(board.copy())
    rng = np.random.default_rng(5)
    for material in ("KRvKP", "KPvKP", "KQvKR", "KPPvKP", "KNvKB"):
        board = chess.Board(random_endgame(rng, material))
        for _ in range(12):
            out.append(board.copy())
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(moves[int(rng.integers(len(moves)))])
    return out


BOARDS = _boards()


def expected(board: chess.Board, transform: int, fmt: int):
    """What the prober should get: the side to move as white, transformed like the planes."""
    view = board.mirror() if board.turn == chess.BLACK else board
    tr = lambda m: bits.apply_transform(m, transform)
    ours, theirs = tr(view.occupied_co[chess.WHITE]), tr(view.occupied_co[chess.BLACK])
    types = [tr(view.pieces_mask(pt, chess.WHITE) | view.pieces_mask(pt, chess.BLACK)) for pt in _TYPES]
    ep = view.ep_square
    # lc0's canonical formats keep the file only when a pawn can take; formats 1/2 infer any double push
    if ep is not None and fmt in CANONICAL_FORMATS and _ep_file(board) < 0:
        ep = None
    ep = -1 if ep is None else tr(1 << ep).bit_length() - 1
    return (
        ours,
        theirs,
        types,
        ep,
        min(board.halfmove_clock, 255),
        bool(board.clean_castling_rights()),
        board.turn == chess.BLACK,
    )


def records(boards: list[chess.Board], fmt: int) -> tuple[bytes, list[int]]:
    encoded = [encode(GameHistory.from_board(b).snapshots, -1, fmt) for b in boards]
    arr = fr.empty(len(boards), 7)
    fill_frames(arr, encoded, fmt)
    arr["probabilities"] = -1.0
    arr["probabilities"][:, 0] = 1.0
    return arr.tobytes(), [e.transform for e in encoded]


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_positions_match_python_chess(fmt):
    data, transforms = records(BOARDS, fmt)
    got = _native.loader.frame_positions(data)
    assert len(got) == len(BOARDS)
    for board, transform, pos in zip(BOARDS, transforms, got):
        assert tuple(pos) == expected(board, transform, fmt), (board.fen(), fmt)


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_en_passant_cases_are_covered(fmt):
    """The positions above include en passant squares for both sides to move,
    and (in the canonical formats) transformed planes."""
    data, transforms = records(BOARDS, fmt)
    got = _native.loader.frame_positions(data)
    ep = [(p[3], p[6]) for p in got if p[3] >= 0]
    assert {black for _, black in ep} == {False, True}
    assert all(40 <= sq < 48 for sq, _ in ep)
    if fmt in CANONICAL_FORMATS:
        assert len(set(transforms)) >= 3
