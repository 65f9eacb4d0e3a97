"""Frames -> training tensors: THE reference decoder of lcpipe.

The native loader must produce exactly what ``frames_to_batch`` produces,
and the trainer consumes it. Layout (LC0_FORMATS.md section 5):

- inputs f32[B,112,8,8]: planes 0-103 as stored (canonical transforms are
  NOT undone: the network sees the canonical view), planes 104-111 built
  from the aux bytes per input format, rule50 divided by 99 (formats 1-3)
  or 100 (formats 4, 5, 132, 133) as a float32 division (``float(r) / 99.0f``).
- probabilities f32[B,1858]: renormalised to sum 1 over legal moves
  (entries >= 0): the legal sum is taken in float64, scale = float32(1 /
  sum) (1 if the sum is 0), each legal entry times scale in float32; -1 kept
  on illegal moves.
- values f32[B,6,3]: rows result, best, played, orig, root, short-term;
  columns q, d, m. The result row carries plies_left as m; short-term m is
  NaN, and short-term q/d are NaN for V6 frames (no such field).
- opponent_idx, next_idx int32[B]: V7 opp_played_idx / next_played_idx,
  -1 for 65535 and for V6 frames.
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.frames import NO_MOVE, V6_DTYPE, V7_DTYPE
from lcpipe.types import Batch

# _BYTE_BITS[b] = the 8 bits of byte b, LSB first (file a .. h of one rank)
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(
    np.float32
)
_VALUE_FIELDS = (
    ("result_q", "result_d", "plies_left"),
    ("best_q", "best_d", "best_m"),
    ("played_q", "played_d", "played_m"),
    ("orig_q", "orig_d", "orig_m"),
    ("root_q", "root_d", "root_m"),
)


def planes_to_bits(planes: np.ndarray) -> np.ndarray:
    """Stored plane words u64[B,N] -> u8[B,N,8,8] 0/1 (row = rank, column = file)."""
    b = np.ascontiguousarray(planes).view(np.uint8)
    # unpackbits' MSB-first order undoes the bit reversal inside each byte
    return np.unpackbits(b, axis=-1).reshape(planes.shape[0], planes.shape[1], 8, 8)


def planes_to_floats(planes: np.ndarray) -> np.ndarray:
    """Stored plane words u64[B,N] -> f32[B,N,8,8]."""
    return planes_to_bits(planes).astype(np.float32)


def aux_planes(frames: np.ndarray) -> np.ndarray:
    """f32[B,8,8,8]: input planes 104-111 from the aux bytes of each frame."""
    n = len(frames)
    fmt = frames["input_format"].astype(np.int64)
    out = np.zeros((n, 8, 8, 8), dtype=np.float32)
    classical = fmt == 1
    canonical = fmt >= 3
    names = ("castling_us_ooo", "castling_us_oo", "castling_them_ooo", "castling_them_oo")
    cast = [frames[name] for name in names]
    # format 1: whole planes of ones per castling right
    for k in range(4):
        out[:, k] = (classical & (cast[k] != 0)).astype(np.float32)[:, None, None]
    # formats >= 2: rook files, ours on rank 1, theirs on rank 8
    modern = ~classical
    for k, (us, them) in enumerate(((cast[0], cast[2]), (cast[1], cast[3]))):
        out[modern, k, 0, :] = _BYTE_BITS[us[modern]]
        out[modern, k, 7, :] = _BYTE_BITS[them[modern]]
    stm = frames["side_to_move_or_enpassant"]
    out[~canonical, 4] = (stm[~canonical] != 0).astype(np.float32)[:, None, None]
    out[canonical, 4, 7, :] = _BYTE_BITS[stm[canonical]]
    divisor = np.where(fmt >= 4, np.float32(100.0), np.float32(99.0))
    out[:, 5] = (frames["rule50_count"].astype(np.float32) / divisor)[:, None, None]
    armageddon = ((fmt == 132) | (fmt == 133)) & (frames["invariance_info"] >= 128)
    out[:, 6] = armageddon.astype(np.float32)[:, None, None]
    out[:, 7] = 1.0
    return out


def normalise_policy(probs: np.ndarray) -> np.ndarray:
    """Renormalise over legal entries (>= 0), keep -1 on illegal ones."""
    p = np.array(probs, dtype=np.float32, copy=True)
    legal = p >= 0
    total = np.sum(p, axis=1, where=legal, keepdims=True, dtype=np.float64)
    scale = (1.0 / np.where(total > 0, total, 1.0)).astype(np.float32)
    np.multiply(p, scale, out=p, where=legal)
    p[~legal] = -1.0
    return p


def values(frames: np.ndarray) -> np.ndarray:
    n = len(frames)
    out = np.empty((n, 6, 3), dtype=np.float32)
    for row, names in enumerate(_VALUE_FIELDS):
        for col, name in enumerate(names):
            out[:, row, col] = frames[name]
    if frames.dtype.names and "q_st" in frames.dtype.names:
        out[:, 5, 0] = frames["q_st"]
        out[:, 5, 1] = frames["d_st"]
    else:
        out[:, 5, :2] = np.nan
    out[:, 5, 2] = np.nan
    return out


def _indices(frames: np.ndarray, name: str) -> np.ndarray:
    if name not in (frames.dtype.names or ()):
        return np.full(len(frames), -1, dtype=np.int32)
    idx = frames[name].astype(np.int32)
    idx[idx == NO_MOVE] = -1
    return idx


def frames_to_batch(frames: np.ndarray) -> Batch:
    """V6 or V7 frames -> ``Batch`` (see the module docstring for the layout)."""
    if frames.dtype not in (V6_DTYPE, V7_DTYPE):
        raise TypeError(f"expected V6 or V7 frames, got {frames.dtype}")
    n = len(frames)
    inputs = np.empty((n, 112, 8, 8), dtype=np.float32)
    inputs[:, :104] = planes_to_bits(frames["planes"])  # cast on assignment, no float temporary
    inputs[:, 104:] = aux_planes(frames)
    return Batch(
        inputs=inputs,
        probabilities=normalise_policy(frames["probabilities"]),
        values=values(frames),
        opponent_idx=_indices(frames, "opp_played_idx"),
        next_idx=_indices(frames, "next_played_idx"),
        input_formats=frames["input_format"].astype(np.int32),
    )
