"""Gather indices from the raw policy outputs to lc0's 1858-move list.

``attention_gather()[m]`` is the position in the 4288-vector (64x64 from-to
logits, then 8x24 promotion logits: 4096 + 24*from_file + 3*to_file + piece,
piece 0 q, 1 r, 2 b) of move m. ``conv_gather()[m]`` is the position in the
5120-vector (80 planes x 64 from-squares, plane*64 + square).

The data layer (lcpipe.lc0.policy) owns the move index; when it is importable
its maps are used, otherwise the definition of LC0_FORMATS.md section 4 is
computed here (the attention map follows from it exactly).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

QUEEN_DIRS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))  # (drank, dfile): N NE E SE S SW W NW
KNIGHT = ((2, 1), (1, 2), (-1, 2), (-2, 1), (-2, -1), (-1, -2), (1, -2), (2, -1))
PROMO_PIECES = "qrb"


@lru_cache(maxsize=None)
def move_list() -> tuple[tuple[int, int, str], ...]:
    """(from, to, promotion) for the 1858 moves, in lc0's order."""
    moves = []
    for frm in range(64):
        r, f = divmod(frm, 8)
        dests = set()
        for dr, df in QUEEN_DIRS:
            for d in range(1, 8):
                rr, ff = r + dr * d, f + df * d
                if 0 <= rr < 8 and 0 <= ff < 8:
                    dests.add(rr * 8 + ff)
        for dr, df in KNIGHT:
            rr, ff = r + dr, f + df
            if 0 <= rr < 8 and 0 <= ff < 8:
                dests.add(rr * 8 + ff)
        moves.extend((frm, to, "") for to in sorted(dests))
    for ff in range(8):
        for tf in (ff - 1, ff, ff + 1):
            if 0 <= tf < 8:
                moves.extend((48 + ff, 56 + tf, p) for p in PROMO_PIECES)
    assert len(moves) == 1858
    return tuple(moves)


def _external(name: str):
    try:
        from lcpipe.lc0 import policy  # the data layer's move index
    except Exception:
        return None
    value = getattr(policy, name, None)
    return value() if callable(value) else value


def _as_gather(mapping, size: int) -> np.ndarray:
    """Accept either gather form (1858 source positions) or scatter form (size -> move or -1)."""
    arr = np.asarray(mapping).astype(np.int64)
    if arr.shape == (1858,):
        return arr.astype(np.int32)
    if arr.shape == (size,):
        out = np.full(1858, -1, np.int64)
        for src, move in enumerate(arr):
            if move >= 0:
                out[move] = src
        assert (out >= 0).all(), "policy map does not cover every move"
        return out.astype(np.int32)
    if arr.shape == (size, 1858):  # dense 0/1 matrix
        return np.argmax(arr, axis=0).astype(np.int32)
    raise ValueError(f"unexpected policy map shape {arr.shape}")


@lru_cache(maxsize=None)
def attention_gather() -> np.ndarray:
    ext = _external("ATTENTION_GATHER")
    if ext is not None:
        return _as_gather(ext, 4288)
    out = np.empty(1858, np.int32)
    for m, (frm, to, p) in enumerate(move_list()):
        out[m] = frm * 64 + to if not p else 4096 + 24 * (frm % 8) + 3 * (to % 8) + PROMO_PIECES.index(p)
    return out


@lru_cache(maxsize=None)
def conv_gather() -> np.ndarray:
    ext = _external("CONV_GATHER")
    if ext is not None:
        return _as_gather(ext, 5120)
    # Provisional layout until the data layer's map is available: 56 queen-move
    # planes (direction*7 + distance-1), 8 knight planes, 9 promotion planes
    # (piece*3 + file direction); plane*64 + from-square.
    out = np.empty(1858, np.int32)
    for m, (frm, to, p) in enumerate(move_list()):
        dr, df = to // 8 - frm // 8, to % 8 - frm % 8
        if p:
            plane = 64 + PROMO_PIECES.index(p) * 3 + (df + 1)
        elif (dr, df) in KNIGHT:
            plane = 56 + KNIGHT.index((dr, df))
        else:
            dist = max(abs(dr), abs(df))
            plane = QUEEN_DIRS.index((dr // dist, df // dist)) * 7 + dist - 1
        out[m] = plane * 64 + frm
    return out
