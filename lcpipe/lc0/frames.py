"""lc0 training records ("frames") as numpy structured arrays.

V6 (8356 bytes) and V7 (8396 bytes) are the current layouts; V3, V4 and V5
(8276, 8292, 8308 bytes) appear in old archives and are upgraded on read.
Every dtype is little-endian and packed, so ``np.frombuffer`` maps the bytes
lc0 writes directly, and ``arr.tobytes()`` writes them back unchanged.
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.report import ReadReport

NUM_MOVES = 1858
INPUT_FORMATS = (1, 2, 3, 4, 5, 132, 133)
CANONICAL_FORMATS = frozenset({3, 4, 5, 132, 133})
NO_MOVE = 65535  # V7 opp/next index past the end of the game

_HEAD = [
    ("version", "<u4"),
    ("input_format", "<u4"),
    ("probabilities", "<f4", (NUM_MOVES,)),
    ("planes", "<u8", (104,)),
    ("castling_us_ooo", "u1"),
    ("castling_us_oo", "u1"),
    ("castling_them_ooo", "u1"),
    ("castling_them_oo", "u1"),
    ("side_to_move_or_enpassant", "u1"),
    ("rule50_count", "u1"),
    ("invariance_info", "u1"),
    ("dummy", "u1"),
    ("root_q", "<f4"),
    ("best_q", "<f4"),
    ("root_d", "<f4"),
    ("best_d", "<f4"),
    ("root_m", "<f4"),
    ("best_m", "<f4"),
    ("plies_left", "<f4"),
    ("result_q", "<f4"),
    ("result_d", "<f4"),
    ("played_q", "<f4"),
    ("played_d", "<f4"),
    ("played_m", "<f4"),
    ("orig_q", "<f4"),
    ("orig_d", "<f4"),
    ("orig_m", "<f4"),
    ("visits", "<u4"),
    ("played_idx", "<u2"),
    ("best_idx", "<u2"),
    ("policy_kld", "<f4"),
]

V6_DTYPE = np.dtype(_HEAD + [("reserved", "<u4")])
V7_DTYPE = np.dtype(
    _HEAD
    + [
        ("q_st", "<f4"),
        ("d_st", "<f4"),
        ("opp_played_idx", "<u2"),
        ("next_played_idx", "<u2"),
        ("reserved", "<f4", (8,)),
    ]
)

# Old layouts, read only. V3/V4 have no input_format (always classical) and
# keep the game result as a signed byte where V6 has ``dummy``.
_V3 = [
    ("version", "<u4"),
    ("probabilities", "<f4", (NUM_MOVES,)),
    ("planes", "<u8", (104,)),
    ("castling", "u1", (4,)),
    ("side_to_move", "u1"),
    ("rule50_count", "u1"),
    ("move_count", "u1"),
    ("result", "i1"),
]
_V4_EXTRA = [("root_q", "<f4"), ("best_q", "<f4"), ("root_d", "<f4"), ("best_d", "<f4")]
V3_DTYPE = np.dtype(_V3)
V4_DTYPE = np.dtype(_V3 + _V4_EXTRA)
V5_DTYPE = np.dtype(
    [("version", "<u4"), ("input_format", "<u4")]
    + _V3[1:]
    + _V4_EXTRA
    + [("root_m", "<f4"), ("best_m", "<f4"), ("plies_left", "<f4")]
)

DTYPES = {3: V3_DTYPE, 4: V4_DTYPE, 5: V5_DTYPE, 6: V6_DTYPE, 7: V7_DTYPE}
RECORD_SIZES = {v: d.itemsize for v, d in DTYPES.items()}
assert RECORD_SIZES == {3: 8276, 4: 8292, 5: 8308, 6: 8356, 7: 8396}


class FrameError(ValueError):
    """A record that cannot be read (unknown version, bad size, bad values)."""


def empty(n: int, version: int = 6) -> np.ndarray:
    """``n`` zeroed frames of the given version (6 or 7), version field set."""
    if version not in (6, 7):
        raise ValueError(f"can only build version 6 or 7 frames, not {version}")
    arr = np.zeros(n, dtype=DTYPES[version])
    arr["version"] = version
    arr["input_format"] = 1
    if version == 7:
        arr["opp_played_idx"] = NO_MOVE
        arr["next_played_idx"] = NO_MOVE
    return arr


def _upgrade_old(old: np.ndarray, version: int) -> np.ndarray:
    """V3/V4/V5 records -> V7 records, with the same rules lc0's reader uses."""
    out = empty(len(old), 7)
    out["input_format"] = old["input_format"] if version == 5 else 1
    for name in ("probabilities", "planes", "rule50_count"):
        out[name] = old[name]
    for i, name in enumerate(("castling_us_ooo", "castling_us_oo", "castling_them_ooo", "castling_them_oo")):
        out[name] = old["castling"][:, i]
    out["side_to_move_or_enpassant"] = old["side_to_move"]
    # V3/V4 kept a move count in this byte, not flags: drop it (its bits would
    # read as "adjudicated" etc.); V5 may carry canonical transform bits: keep.
    out["invariance_info"] = old["move_count"] if version == 5 else 0
    if version >= 4:
        for name in ("root_q", "best_q", "root_d", "best_d"):
            out[name] = old[name]
    if version == 5:
        for name in ("root_m", "best_m", "plies_left"):
            out[name] = old[name]
    # A result byte other than -1/0/1 has no meaning: NaN makes bad_frame_reason drop that frame
    # (only that one, as the native reader does).
    result = old["result"].astype(np.int16)
    valid = (result >= -1) & (result <= 1)
    out["result_q"] = np.where(valid, result, np.nan).astype(np.float32)
    out["result_d"] = np.where(valid, result == 0, np.nan).astype(np.float32)
    nan = np.float32(np.nan)
    for name in ("orig_q", "orig_d", "orig_m", "q_st", "d_st"):
        out[name] = nan
    return out


def to_v7(frames: np.ndarray) -> np.ndarray:
    """V6 (or V7) frames in the V7 layout; unknown V7-only fields are NaN / 65535."""
    if frames.dtype == V7_DTYPE:
        return frames
    if frames.dtype != V6_DTYPE:
        raise TypeError(f"expected V6 or V7 frames, got {frames.dtype}")
    out = empty(len(frames), 7)
    for name in V6_DTYPE.names or ():
        if name not in ("version", "reserved"):
            out[name] = frames[name]
    out["q_st"] = np.nan
    out["d_st"] = np.nan
    return out


def to_v6(frames: np.ndarray) -> np.ndarray:
    """Frames in the V6 layout (V7-only fields dropped)."""
    if frames.dtype == V6_DTYPE:
        return frames
    if frames.dtype != V7_DTYPE:
        raise TypeError(f"expected V6 or V7 frames, got {frames.dtype}")
    out = empty(len(frames), 6)
    for name in V6_DTYPE.names or ():
        if name not in ("version", "reserved"):
            out[name] = frames[name]
    return out


def bad_frame_reason(frames: np.ndarray) -> list[str | None]:
    """Per frame: why it must be dropped (None if it is fine).

    Checked: input_format known; probabilities are finite and either -1
    (illegal) or >= 0; at least one legal move; a finite game result and a
    plies_left that is not NaN. A frame without a usable result would put
    NaN into the value loss (the whole training step lost), so it is
    dropped like any other bad frame; the native loader does the same.
    """
    probs = frames["probabilities"]
    fmt_ok = np.isin(frames["input_format"], INPUT_FORMATS)
    # one pass over the common case: every entry is -1 or a finite value >= 0
    entry_ok = (probs == -1) | ((probs >= 0) & (probs <= np.finfo(np.float32).max))
    values_ok = entry_ok.all(axis=1)
    no_legal = np.asarray(~(probs >= 0).any(axis=1))
    result_ok = (
        np.isfinite(frames["result_q"]) & np.isfinite(frames["result_d"]) & ~np.isnan(frames["plies_left"])
    )
    bad = ~fmt_ok | ~values_ok | no_legal | ~result_ok
    if bad.any():
        nan = ~np.isfinite(probs).all(axis=1)
        negative = ((probs < 0) & (probs != -1)).any(axis=1)
    reasons: list[str | None] = [None] * len(frames)
    if not bad.any():
        return reasons
    for i in np.flatnonzero(bad):
        if not fmt_ok[i]:
            reasons[i] = f"unknown input format {int(frames['input_format'][i])}"
        elif nan[i]:
            reasons[i] = "NaN or infinite probability"
        elif negative[i]:
            reasons[i] = "negative probability other than -1"
        elif no_legal[i]:
            reasons[i] = "no legal move in probabilities"
        else:
            reasons[i] = "NaN game result"
    return reasons


def parse(data: bytes | memoryview, source: str = "", report: ReadReport | None = None) -> np.ndarray:
    """Decode the concatenated records of one chunk.

    Returns V6 or V7 frames as stored (V3-V5 are upgraded to V7). Problems
    are counted in ``report`` with their place and the bad part skipped:
    an unknown version stops the chunk (record boundaries are lost), a
    trailing partial record and individual bad frames are dropped. Without a
    report, the first problem raises ``FrameError``. The result may be a
    read-only view of ``data``; copy it before changing it.
    """
    data = memoryview(data).cast("B")
    parts: list[np.ndarray] = []
    offset = 0
    index = 0
    n = len(data)
    while offset < n:
        if n - offset < 4:
            _problem(report, source, index, f"{n - offset} trailing bytes, not a whole record")
            break
        version = int.from_bytes(data[offset : offset + 4], "little")
        dtype = DTYPES.get(version)
        if dtype is None:
            _problem(report, source, index, f"unknown record version {version}")
            break
        size = dtype.itemsize
        count = int((n - offset) // size)
        if count == 0:
            _problem(report, source, index, f"{n - offset} trailing bytes, size is not a multiple of {size}")
            break
        block = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        # A chunk has one version; stop the run where another one starts.
        same = block["version"] == version
        if not same.all():
            count = int(np.argmin(same))
            block = block[:count]
        if version < 6:
            invalid_result = (block["result"] < -1) | (block["result"] > 1)
            block = _upgrade_old(block, version)
        reasons = bad_frame_reason(block)
        if version < 6:
            for bad_at in np.flatnonzero(invalid_result):
                reasons[bad_at] = f"invalid game result byte in version {version} record"
        if any(r is not None for r in reasons):
            keep = np.array([r is None for r in reasons])
            for i, r in enumerate(reasons):
                if r is not None:
                    _problem(report, source, index + i, r)
            block = block[keep]
        parts.append(block)
        offset += count * size
        index += count
    if report is not None:
        report.frames += sum(len(p) for p in parts)
    if not parts:
        return np.zeros(0, dtype=V6_DTYPE)
    if len(parts) == 1:
        return parts[0]
    if all(p.dtype == parts[0].dtype for p in parts):
        return np.concatenate(parts)
    return np.concatenate([to_v7(p) for p in parts])


def _problem(report: ReadReport | None, source: str, frame: int, message: str) -> None:
    if report is None:
        raise FrameError(f"{source or '<bytes>'}: frame {frame}: {message}")
    report.bad(source, message, frame=frame)
