"""Weights.Layer <-> numpy: the four encodings lc0 understands.

LINEAR16 stores each value as a u16 between the layer's min and max; lc0
decodes it in float32 as ``u / 65535 * (max - min) + min`` and so do we, so a
decoded value is bit-for-bit what the engine computes. FLOAT16 / BFLOAT16 /
FLOAT32 store little-endian floats. A layer without an encoding is LINEAR16.
"""

from __future__ import annotations

import numpy as np

from lcpipe.nets.schema import Enc

ENCODINGS = {
    "linear16": Enc.LINEAR16,
    "float16": Enc.FLOAT16,
    "bfloat16": Enc.BFLOAT16,
    "float32": Enc.FLOAT32,
}


def encoding_number(name: str | int) -> int:
    if isinstance(name, int):
        if name not in Enc.NAMES or name == Enc.UNKNOWN:
            raise ValueError(f"unknown layer encoding {name}")
        return name
    try:
        return ENCODINGS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; choose one of {sorted(ENCODINGS)}") from None


def decode_layer(layer: dict, default_encoding: int = Enc.LINEAR16) -> np.ndarray:
    """Float32 values of a decoded ``Layer`` dict (flat, in file order)."""
    enc = layer.get("encoding", 0) or default_encoding or Enc.LINEAR16
    raw = layer.get("params", b"")
    if enc == Enc.LINEAR16:
        if len(raw) % 2:
            raise ValueError("LINEAR16 layer with an odd number of bytes")
        u = np.frombuffer(raw, dtype="<u2").astype(np.float32)
        lo = np.float32(layer.get("min_val", 0.0))
        rng = np.float32(layer.get("max_val", 0.0)) - lo
        return (u / np.float32(65535.0)) * rng + lo
    if enc == Enc.FLOAT16:
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if enc == Enc.BFLOAT16:
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).copy()
    if enc == Enc.FLOAT32:
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    raise ValueError(f"unsupported layer encoding {enc}")


def encode_layer(
    values: np.ndarray, encoding: int = Enc.LINEAR16, dims: tuple[int, ...] | None = None
) -> dict:
    """A ``Layer`` dict holding ``values`` (flattened, C order)."""
    v = np.ascontiguousarray(values, dtype=np.float32).ravel()
    if not np.all(np.isfinite(v)):
        raise ValueError("cannot encode non-finite weights")
    layer: dict = {}
    if encoding == Enc.LINEAR16:
        lo = float(v.min()) if v.size else 0.0
        hi = float(v.max()) if v.size else 0.0
        lo32, hi32 = np.float32(lo), np.float32(hi)
        rng = hi32 - lo32
        if rng > 0:
            u = np.rint((v - lo32) / rng * np.float32(65535.0))
        else:
            u = np.zeros_like(v)
        layer["min_val"] = lo
        layer["max_val"] = hi
        layer["params"] = np.clip(u, 0, 65535).astype("<u2").tobytes()
    elif encoding == Enc.FLOAT16:
        if v.size and np.max(np.abs(v)) > 65504:
            raise ValueError("value out of FLOAT16 range")
        layer["params"] = v.astype("<f2").tobytes()
    elif encoding == Enc.BFLOAT16:
        bits = v.view(np.uint32).astype(np.uint64)
        # Round to nearest, ties to even, on the 16 bits we drop.
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        layer["params"] = rounded.astype("<u2").tobytes()
    elif encoding == Enc.FLOAT32:
        layer["params"] = v.astype("<f4").tobytes()
    else:
        raise ValueError(f"unsupported layer encoding {encoding}")
    if encoding != Enc.LINEAR16:
        layer["encoding"] = encoding  # LINEAR16 layers omit it, as lc0's own files do
    if dims:
        layer["dims"] = [int(d) for d in dims]
    return layer


def max_error(values: np.ndarray, encoding: int) -> float:
    """Worst absolute error one value can get from encoding then decoding.

    LINEAR16: half a step of (max-min)/65535 plus float32 rounding of the
    decode; FLOAT16 / BFLOAT16: half an ulp at the largest magnitude
    (relative 2^-11 / 2^-8); FLOAT32: exact.
    """
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:
        return 0.0
    big = float(np.max(np.abs(v)))
    if encoding == Enc.LINEAR16:
        rng = float(v.max()) - float(v.min())
        return 0.5 * rng / 65535.0 + 4 * float(np.finfo(np.float32).eps) * max(big, rng)
    if encoding == Enc.FLOAT16:
        return big * 2.0**-11 + 2.0**-25  # subnormal floor
    if encoding == Enc.BFLOAT16:
        return big * 2.0**-8
    return 0.0
