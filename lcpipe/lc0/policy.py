"""The 1858-move policy index of lc0, built from its definition.

Squares are a1=0 ... h8=63 (rank * 8 + file). Moves are written from the
side to move's view (black's moves mirrored vertically); castling is the
king taking its own rook (e1h1, e1a1). Index 0..1791: for each from-square
in order, every queen-line or knight destination in increasing order;
1792..1857: the 22 rank-7 to rank-8 pawn moves, each promoting to q, r, b
(a knight promotion uses the plain from-to index).

Canonical input formats transform the board by bits of
``invariance_info``: FLIP (1) mirrors files, MIRROR (2) mirrors ranks,
TRANSPOSE (4) reflects in the a8-h1 diagonal ((rank, file) ->
(7 - file, 7 - rank), checked against real lc0 data); applied in that order.
A move's index is looked up after ``move_transform(t)``: the same
transform, except that lc0 turns moves by 180 degrees whenever TRANSPOSE
is set (seen in real lc0 data, see ``move_transform``).

Gather maps for policy heads (``logits_1858 = head_output[..., GATHER]``):
- ``ATTENTION_GATHER`` into a flat 4288 vector: ``from * 64 + to`` for
  plain moves, ``4096 + from_file * 24 + to_file * 3 + k`` (k: q=0, r=1,
  b=2) for promotions (lczero-training's attention policy map).
- ``CONV_GATHER`` into a flat 80 x 64 vector (channel-major, square =
  rank * 8 + file of the from-square): planes 0-55 queen moves (direction
  N, NE, E, SE, S, SW, W, NW, then distance 1-7: plane = dir * 7 + dist - 1),
  56-63 knight moves ((+1,+2), (+2,+1), (+2,-1), (+1,-2), (-1,-2), (-2,-1),
  (-2,+1), (-1,+2) as (file, rank) steps), 64-72 under/queen promotions
  (direction NW, N, NE, then piece r, b, q: plane = 64 + dir * 3 + piece),
  73-79 unused (lc0's convolution policy map).
"""

from __future__ import annotations

import chess
import numpy as np

NUM_MOVES = 1858
FLIP, MIRROR, TRANSPOSE = 1, 2, 4
FILES = "abcdefgh"
PROMO_PIECES = "qrb"  # order of promotions in the 1858 list


def square_name(sq: int) -> str:
    return FILES[sq & 7] + str((sq >> 3) + 1)


def _square(name: str) -> int:
    return FILES.index(name[0]) + 8 * (int(name[1]) - 1)


def _destinations(sq: int) -> list[int]:
    r, f = divmod(sq, 8)
    out = set()
    for dr, df in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)):
        for dist in range(1, 8):
            rr, ff = r + dr * dist, f + df * dist
            if 0 <= rr < 8 and 0 <= ff < 8:
                out.add(rr * 8 + ff)
    for dr, df in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1)):
        rr, ff = r + dr, f + df
        if 0 <= rr < 8 and 0 <= ff < 8:
            out.add(rr * 8 + ff)
    return sorted(out)


def _build() -> tuple[list[str], list[tuple[int, int, str]]]:
    names: list[str] = []
    parts: list[tuple[int, int, str]] = []  # (from, to, promotion) per index
    for sq in range(64):
        for to in _destinations(sq):
            names.append(square_name(sq) + square_name(to))
            parts.append((sq, to, ""))
    for f in range(8):
        for tf in (f - 1, f, f + 1):
            if 0 <= tf < 8:
                for p in PROMO_PIECES:
                    frm, to = 48 + f, 56 + tf
                    names.append(square_name(frm) + square_name(to) + p)
                    parts.append((frm, to, p))
    return names, parts


MOVES, _PARTS = _build()
assert len(MOVES) == NUM_MOVES
MOVE_INDEX: dict[str, int] = {m: i for i, m in enumerate(MOVES)}
FROM_SQUARE = np.array([p[0] for p in _PARTS], dtype=np.int16)
TO_SQUARE = np.array([p[1] for p in _PARTS], dtype=np.int16)


def transform_square(sq: int, transform: int) -> int:
    """Apply FLIP, MIRROR, TRANSPOSE (in that order, as set in ``transform``)."""
    r, f = divmod(sq, 8)
    if transform & FLIP:
        f = 7 - f
    if transform & MIRROR:
        r = 7 - r
    if transform & TRANSPOSE:
        r, f = 7 - f, 7 - r
    return r * 8 + f


def untransform_square(sq: int, transform: int) -> int:
    """Inverse of ``transform_square`` (undo TRANSPOSE, MIRROR, FLIP)."""
    r, f = divmod(sq, 8)
    if transform & TRANSPOSE:
        r, f = 7 - f, 7 - r
    if transform & MIRROR:
        r = 7 - r
    if transform & FLIP:
        f = 7 - f
    return r * 8 + f


def lc0_move(board: chess.Board, move: chess.Move) -> tuple[int, int, str]:
    """(from, to, promotion) of a python-chess move in lc0's convention.

    Castling becomes king-takes-rook; a knight promotion is a plain move.
    """
    to = move.to_square
    if board.is_castling(move):
        # python-chess writes standard castling as e1g1 / e1c1; lc0 as e1h1 / e1a1
        to = board._to_chess960(move).to_square
    promo = ""
    if move.promotion and move.promotion != chess.KNIGHT:
        promo = chess.piece_symbol(move.promotion)
    return move.from_square, to, promo


def move_transform(transform: int) -> int:
    """The square map lc0 applies to moves for a board transform.

    Fact from real lc0 v0.33 data (rescored to formats 3 and 5): when the
    TRANSPOSE bit is set, move indices are taken after FLIP and MIRROR
    (a 180 degree turn) and no transposition, whatever the other bits;
    otherwise moves follow the board transform. Policy targets, played_idx
    and best_idx in such records all follow this, and so must we.
    """
    return FLIP | MIRROR if transform & TRANSPOSE else transform


def index_of(frm: int, to: int, promo: str = "", black: bool = False, transform: int = 0) -> int:
    """Policy index of a move given in real board squares."""
    if black:
        frm ^= 56
        to ^= 56
    if transform:
        t = move_transform(transform)
        frm = transform_square(frm, t)
        to = transform_square(to, t)
    key = square_name(frm) + square_name(to) + promo
    try:
        return MOVE_INDEX[key]
    except KeyError:
        raise ValueError(f"move {key} (in the network's view) has no policy index") from None


def move_index(board: chess.Board, move: chess.Move, transform: int = 0) -> int:
    """Policy index of a legal python-chess move in ``board``."""
    frm, to, promo = lc0_move(board, move)
    return index_of(frm, to, promo, board.turn == chess.BLACK, transform)


def legal_indices(board: chess.Board, transform: int = 0) -> dict[chess.Move, int]:
    """Every legal move of ``board`` with its policy index."""
    black = board.turn == chess.BLACK
    out = {}
    for m in board.legal_moves:
        frm, to, promo = lc0_move(board, m)
        out[m] = index_of(frm, to, promo, black, transform)
    return out


def index_to_squares(idx: int, black: bool = False, transform: int = 0) -> tuple[int, int, str]:
    """(from, to, promotion) in real board squares for a policy index."""
    frm, to, promo = _PARTS[idx]
    if transform:
        t = move_transform(transform)
        frm = untransform_square(frm, t)
        to = untransform_square(to, t)
    if black:
        frm ^= 56
        to ^= 56
    return frm, to, promo


def index_to_move(board: chess.Board, idx: int, transform: int = 0) -> chess.Move:
    """The python-chess move (standard UCI castling) for an index in ``board``.

    Raises ValueError if it is not a legal move there.
    """
    frm, to, promo = index_to_squares(idx, board.turn == chess.BLACK, transform)
    piece = board.piece_at(frm)
    promotion = chess.Piece.from_symbol(promo).piece_type if promo else None
    if piece is not None and piece.piece_type == chess.PAWN and chess.square_rank(to) in (0, 7) and not promo:
        promotion = chess.KNIGHT
    if piece is not None and piece.piece_type == chess.KING:
        target = board.piece_at(to)
        if target is not None and target.color == piece.color and target.piece_type == chess.ROOK:
            # king takes own rook: castling
            for m in board.legal_moves:
                if board.is_castling(m) and lc0_move(board, m)[1] == to:
                    return m
    move = chess.Move(frm, to, promotion)
    if move not in board.legal_moves:
        raise ValueError(f"policy index {idx} is not a legal move in {board.fen()}")
    return move


def _white_table() -> np.ndarray:
    """WHITE_INDEX[from, to, promo]: index of a move in white's view, -1 if none.

    promo: 0 none (or knight), 1 queen, 2 rook, 3 bishop.
    """
    table = np.full((64, 64, 4), -1, dtype=np.int32)
    for i, (frm, to, promo) in enumerate(_PARTS):
        table[frm, to, " qrb".index(promo or " ")] = i
    return table


WHITE_INDEX = _white_table()
_PROMO_CODE = {None: 0, chess.KNIGHT: 0, chess.QUEEN: 1, chess.ROOK: 2, chess.BISHOP: 3}


def legal_move_indices(
    board: chess.Board, moves: list[chess.Move] | None = None, transform: int = 0
) -> np.ndarray:
    """Policy indices (int64) of ``moves`` (default: all legal moves), fast path.

    Equivalent to ``move_index`` per move, without building strings.
    """
    if moves is None:
        moves = list(board.legal_moves)
    flip = 56 if board.turn == chess.BLACK else 0
    king = board.king(board.turn)
    rows = []
    for m in moves:
        frm, to = m.from_square, m.to_square
        if frm == king and abs((to & 7) - (frm & 7)) == 2 and not board.chess960:
            to = (to & 56) | (7 if to & 7 > frm & 7 else 0)  # castling: king takes rook
        elif frm == king and board.is_castling(m):
            to = board._to_chess960(m).to_square
        rows.append((frm ^ flip, to ^ flip, _PROMO_CODE[m.promotion]))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    idx = WHITE_INDEX[arr[:, 0], arr[:, 1], arr[:, 2]].astype(np.int64)
    if transform:
        idx = TRANSFORM_INDEX[transform, idx].astype(np.int64)
    return idx


def _attention_gather() -> np.ndarray:
    out = np.empty(NUM_MOVES, dtype=np.int32)
    for i, (frm, to, promo) in enumerate(_PARTS):
        if promo:
            out[i] = 4096 + (frm & 7) * 24 + (to & 7) * 3 + PROMO_PIECES.index(promo)
        else:
            out[i] = frm * 64 + to
    return out


_QUEEN_DIRS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))  # (file, rank)
_KNIGHT_DIRS = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
_CONV_PROMOS = "rbq"


def _conv_gather() -> np.ndarray:
    out = np.empty(NUM_MOVES, dtype=np.int32)
    for i, (frm, to, promo) in enumerate(_PARTS):
        df = (to & 7) - (frm & 7)
        dr = (to >> 3) - (frm >> 3)
        if promo:
            plane = 64 + (df + 1) * 3 + _CONV_PROMOS.index(promo)
        elif (df, dr) in _KNIGHT_DIRS:
            plane = 56 + _KNIGHT_DIRS.index((df, dr))
        else:
            dist = max(abs(df), abs(dr))
            plane = _QUEEN_DIRS.index((df // dist, dr // dist)) * 7 + dist - 1
        out[i] = plane * 64 + frm
    return out


ATTENTION_GATHER = _attention_gather()
ATTENTION_SIZE = 64 * 64 + 8 * 24
CONV_GATHER = _conv_gather()
CONV_PLANES = 80
CONV_SIZE = CONV_PLANES * 64
assert len(set(ATTENTION_GATHER.tolist())) == NUM_MOVES
assert len(set(CONV_GATHER.tolist())) == NUM_MOVES


def scatter_matrix(gather: np.ndarray, size: int) -> np.ndarray:
    """Dense 0/1 matrix [size, 1858] equivalent to a gather (for matmul heads)."""
    m = np.zeros((size, NUM_MOVES), dtype=np.float32)
    m[gather, np.arange(NUM_MOVES)] = 1.0
    return m


def _transform_table() -> np.ndarray:
    """TRANSFORM_INDEX[t, i]: index of move i under transform t (-1 if none).

    Uses ``move_transform``, i.e. what lc0 does to policy indices.
    """
    table = np.full((8, NUM_MOVES), -1, dtype=np.int32)
    for tt in range(8):
        t = move_transform(tt)
        for i, (frm, to, promo) in enumerate(_PARTS):
            key = square_name(transform_square(frm, t)) + square_name(transform_square(to, t)) + promo
            table[tt, i] = MOVE_INDEX.get(key, -1)
    return table


TRANSFORM_INDEX = _transform_table()

# FILE_MIRROR_INDEX[i]: the index of move i mirrored left-right (files a<->h), the FLIP
# transform. Every move's mirror is in the list, so it is a permutation, and its own inverse.
FILE_MIRROR_INDEX = TRANSFORM_INDEX[FLIP].copy()
assert sorted(FILE_MIRROR_INDEX.tolist()) == list(range(NUM_MOVES))
