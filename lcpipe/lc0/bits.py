"""Bitboard helpers shared by the encoder and decoder.

A bitboard here is a Python int (or uint64) with square s = rank * 8 + file
at bit s. lc0 stores each plane with the bits of every byte reversed;
``to_stored`` / ``from_stored`` convert whole arrays of planes.
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.policy import FLIP, MIRROR, TRANSPOSE

FULL = (1 << 64) - 1
_REV_BYTE = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))
_REV_TABLE = bytes.maketrans(bytes(range(256)), _REV_BYTE)
REV_LUT = np.frombuffer(_REV_BYTE, dtype=np.uint8)

# _SPREAD[r][b]: the squares of byte b of rank r after transposing
_SPREAD = [
    [sum(1 << ((7 - f) * 8 + 7 - r) for f in range(8) if b >> f & 1) for b in range(256)] for r in range(8)
]


def flip(x: int) -> int:
    """Mirror files (a <-> h): reverse the bits of every byte."""
    return int.from_bytes(x.to_bytes(8, "little").translate(_REV_TABLE), "little")


def mirror(x: int) -> int:
    """Mirror ranks (1 <-> 8): reverse the byte order."""
    return int.from_bytes(x.to_bytes(8, "little"), "big")


def transpose(x: int) -> int:
    """lc0's TRANSPOSE: reflect in the a8-h1 diagonal, (rank, file) -> (7-file, 7-rank).

    (Seen in real lc0 data: a king on f4 is stored on e3.)
    """
    out = 0
    for r, b in enumerate(x.to_bytes(8, "little")):
        if b:
            out |= _SPREAD[r][b]
    return out


def apply_transform(x: int, transform: int) -> int:
    """FLIP, then MIRROR, then TRANSPOSE, as lc0 transforms input planes."""
    if x == 0 or x == FULL:
        return x
    if transform & FLIP:
        x = flip(x)
    if transform & MIRROR:
        x = mirror(x)
    if transform & TRANSPOSE:
        x = transpose(x)
    return x


def undo_transform(x: int, transform: int) -> int:
    if x == 0 or x == FULL:
        return x
    if transform & TRANSPOSE:
        x = transpose(x)
    if transform & MIRROR:
        x = mirror(x)
    if transform & FLIP:
        x = flip(x)
    return x


def to_stored(masks: np.ndarray | list) -> np.ndarray:
    """Bitboards -> the uint64 words of a record (bits reversed in each byte)."""
    arr = np.ascontiguousarray(np.asarray(masks, dtype=np.uint64))
    return REV_LUT[arr.view(np.uint8)].view(np.uint64).reshape(arr.shape)


from_stored = to_stored  # the byte-wise bit reversal is its own inverse
