"""Record planes + aux bytes -> the position (and its history) they encode.

The inverse of ``encoder``: undoes the canonical transform, the mirroring
for black and the ours/theirs swap, and returns python-chess boards seen
from white. En passant comes from the aux byte in canonical formats and is
inferred from the previous history position otherwise. The full-move number
is not stored in a record (always 1 here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import chess
import numpy as np

from lcpipe.lc0 import bits
from lcpipe.lc0.frames import CANONICAL_FORMATS
from lcpipe.lc0.policy import FLIP

_TYPES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


@dataclass
class Decoded:
    """A decoded frame: the current board and the history positions present.

    ``history[0]`` is the current placement; ``history[h]`` the position h
    plies earlier (as a BaseBoard), for as many blocks as are filled in.
    ``repetitions[h]``: whether the repetition plane of block h is set.
    """

    board: chess.Board
    history: list[chess.BaseBoard] = field(default_factory=list)
    repetitions: list[bool] = field(default_factory=list)
    transform: int = 0
    black_to_move: bool = False


def _base_board(white: list[int], black: list[int]) -> chess.BaseBoard:
    b = chess.BaseBoard.empty()
    b.pawns, b.knights, b.bishops, b.rooks, b.queens, b.kings = (w | k for w, k in zip(white, black))
    b.occupied_co[chess.WHITE] = white[0] | white[1] | white[2] | white[3] | white[4] | white[5]
    b.occupied_co[chess.BLACK] = black[0] | black[1] | black[2] | black[3] | black[4] | black[5]
    b.occupied = b.occupied_co[chess.WHITE] | b.occupied_co[chess.BLACK]
    return b


def frame_black_to_move(frame: np.void) -> bool:
    """Canonical formats keep the side to move in invariance_info bit 7, the others in its own byte."""
    if int(frame["input_format"]) in CANONICAL_FORMATS:
        return bool(int(frame["invariance_info"]) & 128)
    return bool(frame["side_to_move_or_enpassant"])


def frame_masks(frame: np.void) -> tuple[list[int], int, bool]:
    """(104 bitboards with the transform undone, transform, black to move)."""
    canonical = int(frame["input_format"]) in CANONICAL_FORMATS
    transform = int(frame["invariance_info"]) & 7 if canonical else 0
    black = frame_black_to_move(frame)
    masks = [int(x) for x in bits.from_stored(frame["planes"])]
    if transform:
        masks = [bits.undo_transform(m, transform) for m in masks]
    return masks, transform, black


def decode_frame(frame: np.void) -> Decoded:
    """The position a frame encodes, seen from white."""
    masks, transform, black = frame_masks(frame)
    fmt = int(frame["input_format"])
    history: list[chess.BaseBoard] = []
    reps: list[bool] = []
    for h in range(8):
        block = masks[13 * h : 13 * h + 13]
        if not any(block[:12]):
            break
        ours, theirs = block[:6], block[6:12]
        if black:
            ours = [chess.flip_vertical(x) for x in ours]
            theirs = [chess.flip_vertical(x) for x in theirs]
            white_pieces, black_pieces = theirs, ours
        else:
            white_pieces, black_pieces = ours, theirs
        history.append(_base_board(white_pieces, black_pieces))
        reps.append(block[12] != 0)
    board = chess.Board.empty()
    if history:
        h0 = history[0]
        board.pawns, board.knights, board.bishops = h0.pawns, h0.knights, h0.bishops
        board.rooks, board.queens, board.kings = h0.rooks, h0.queens, h0.kings
        board.occupied_co = list(h0.occupied_co)
        board.occupied = h0.occupied
    board.turn = chess.BLACK if black else chess.WHITE
    board.castling_rights = _castling_rights(frame, fmt, black)
    board.halfmove_clock = int(frame["rule50_count"])
    board.fullmove_number = 1
    board.ep_square = _ep_square(frame, fmt, transform, black, history)
    return Decoded(board, history, reps, transform, black)


def _castling_rights(frame: np.void, fmt: int, black: bool) -> int:
    us_rank, them_rank = (56, 0) if black else (0, 56)
    rights = 0
    fields = (
        ("castling_us_ooo", us_rank, 0),
        ("castling_us_oo", us_rank, 7),
        ("castling_them_ooo", them_rank, 0),
        ("castling_them_oo", them_rank, 7),
    )
    for name, rank, default_file in fields:
        v = int(frame[name])
        if not v:
            continue
        if fmt == 1:
            rights |= 1 << (rank + default_file)
        else:
            rights |= 1 << (rank + (v.bit_length() - 1))
    return rights


def _ep_square(
    frame: np.void, fmt: int, transform: int, black: bool, history: list[chess.BaseBoard]
) -> int | None:
    if fmt in CANONICAL_FORMATS:
        v = int(frame["side_to_move_or_enpassant"])
        if not v:
            return None
        if transform & FLIP:
            v = int(bits.REV_LUT[v])
        f = v.bit_length() - 1
        return (16 + f) if black else (40 + f)
    if len(history) < 2:
        return None
    # the opponent's pawn moved two squares between history[1] and history[0]
    now, before = history[0], history[1]
    color = chess.WHITE if black else chess.BLACK  # who just moved
    step = 8 if color == chess.WHITE else -8
    moved_from = before.pieces_mask(chess.PAWN, color) & ~now.pieces_mask(chess.PAWN, color)
    moved_to = now.pieces_mask(chess.PAWN, color) & ~before.pieces_mask(chess.PAWN, color)
    if chess.popcount(moved_from) != 1 or chess.popcount(moved_to) != 1:
        return None
    src, dst = chess.lsb(moved_from), chess.lsb(moved_to)
    if dst - src != 2 * step:
        return None
    return src + step
