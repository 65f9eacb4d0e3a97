"""Layer encodings: decode matches lc0's arithmetic, round trips stay within stated bounds."""

from __future__ import annotations

import numpy as np
import pytest

from lcpipe.nets.layers import decode_layer, encode_layer, max_error
from lcpipe.nets.schema import Enc


def test_linear16_decode_is_lc0s_float32_formula():
    u = np.array([0, 1, 32768, 65535], "<u2")
    layer = {"min_val": -1.5, "max_val": 2.25, "params": u.tobytes()}
    got = decode_layer(layer)
    lo, rng = np.float32(-1.5), np.float32(2.25) - np.float32(-1.5)
    want = (u.astype(np.float32) / np.float32(65535.0)) * rng + lo
    np.testing.assert_array_equal(got, want)
    assert got[0] == np.float32(-1.5) and got[-1] == np.float32(2.25)


@pytest.mark.parametrize("enc", [Enc.LINEAR16, Enc.FLOAT16, Enc.BFLOAT16, Enc.FLOAT32])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 300.0])
def test_round_trip_error_within_bound(enc, scale):
    rng = np.random.default_rng(int(scale * 1000) + enc)
    v = (rng.standard_normal(5000) * scale).astype(np.float32)
    layer = encode_layer(v, enc, (50, 100))
    back = decode_layer(layer)
    err = float(np.max(np.abs(back - v)))
    bound = max_error(v, enc)
    assert err <= bound, (err, bound)
    assert layer["dims"] == [50, 100]
    if enc == Enc.FLOAT32:
        np.testing.assert_array_equal(back, v)
    if enc == Enc.LINEAR16:
        assert "encoding" not in layer  # lc0's own files omit it
        step = float(v.max() - v.min()) / 65535
        assert bound <= 0.5 * step + 8 * np.finfo(np.float32).eps * float(np.abs(v).max())


def test_linear16_re_encoding_of_decoded_values_is_exact():
    rng = np.random.default_rng(1)
    u = rng.integers(0, 65536, 1000).astype("<u2")
    u[0], u[1] = 0, 65535
    layer = {"min_val": -0.7, "max_val": 1.3, "params": u.tobytes()}
    again = encode_layer(decode_layer(layer), Enc.LINEAR16)
    assert again["params"] == layer["params"]


def test_constant_layer_and_non_finite():
    layer = encode_layer(np.full(7, 0.25, np.float32), Enc.LINEAR16)
    np.testing.assert_array_equal(decode_layer(layer), np.full(7, 0.25, np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        encode_layer(np.array([1.0, np.nan], np.float32), Enc.FLOAT16)
    with pytest.raises(ValueError, match="FLOAT16 range"):
        encode_layer(np.array([1e6], np.float32), Enc.FLOAT16)
