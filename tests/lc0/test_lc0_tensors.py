"""The reference decoder frames -> Batch, checked against a slow spelled-out version."""

from __future__ import annotations

import numpy as np
import pytest
from lc0_testlib import games

from lcpipe.lc0 import bits, chunks, tensors
from lcpipe.lc0 import frames as fr


def slow_inputs(frame: np.void) -> np.ndarray:
    """Planes 0-111 of one frame following LC0_FORMATS.md section 3 literally."""
    out = np.zeros((112, 8, 8), dtype=np.float32)
    for p, word in enumerate(bits.from_stored(frame["planes"])):
        for sq in range(64):
            if int(word) >> sq & 1:
                out[p, sq // 8, sq % 8] = 1
    fmt = int(frame["input_format"])
    cast = [
        int(frame[n]) for n in ("castling_us_ooo", "castling_us_oo", "castling_them_ooo", "castling_them_oo")
    ]
    if fmt == 1:
        for k in range(4):
            out[104 + k] = 1.0 if cast[k] else 0.0
    else:
        for k, (us, them) in enumerate(((cast[0], cast[2]), (cast[1], cast[3]))):
            for f in range(8):
                out[104 + k, 0, f] = us >> f & 1
                out[104 + k, 7, f] = them >> f & 1
    stm = int(frame["side_to_move_or_enpassant"])
    if fmt in (1, 2):
        out[108] = 1.0 if stm else 0.0
    else:
        for f in range(8):
            out[108, 7, f] = stm >> f & 1
    out[109] = int(frame["rule50_count"]) / (99.0 if fmt in (1, 2, 3) else 100.0)
    if fmt in (132, 133) and int(frame["invariance_info"]) & 128:
        out[110] = 1
    out[111] = 1
    return out


def _check(arr: np.ndarray) -> None:
    batch = tensors.frames_to_batch(arr)
    n = len(arr)
    assert batch.inputs.shape == (n, 112, 8, 8) and batch.inputs.dtype == np.float32
    for i in range(0, n, max(n // 25, 1)):
        np.testing.assert_array_equal(batch.inputs[i], slow_inputs(arr[i]))
    p = batch.probabilities
    legal = arr["probabilities"] >= 0
    assert np.array_equal(p >= 0, legal) and (p[~legal] == -1).all()
    np.testing.assert_allclose(np.where(legal, p, 0).sum(axis=1), 1, atol=1e-5)
    v = batch.values
    assert v.shape == (n, 6, 3)
    np.testing.assert_array_equal(v[:, 0, 0], arr["result_q"])
    np.testing.assert_array_equal(v[:, 0, 2], arr["plies_left"])
    np.testing.assert_array_equal(v[:, 1, 2], arr["best_m"])
    np.testing.assert_array_equal(v[:, 2, 1], arr["played_d"])
    np.testing.assert_array_equal(v[:, 4, 0], arr["root_q"])
    assert np.isnan(v[:, 5, 2]).all()
    if arr.dtype == fr.V7_DTYPE:
        np.testing.assert_array_equal(v[:, 5, 0], arr["q_st"])
        opp = arr["opp_played_idx"].astype(np.int32)
        assert np.array_equal(batch.opponent_idx, np.where(opp == 65535, -1, opp))
        assert batch.next_idx[-1] == -1 and batch.next_idx[0] == arr["next_played_idx"][0]
    else:
        assert (batch.opponent_idx == -1).all() and np.isnan(v[:, 5, :2]).all()


@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_batch_from_real_data(selfplay_dir, fmt):
    arr = chunks.read_frames(selfplay_dir / f"selfplay-fmt{fmt}.tar")[:1500]
    _check(arr)


@pytest.mark.parametrize("fmt", [2, 4, 132, 133])
def test_batch_from_generated_v7(fmt):
    arr = np.concatenate([a for _, a in games(3, seed=21, fmt=fmt, version=7)])
    _check(arr)


def test_policy_renormalisation_and_mixed_formats():
    a = np.array(games(1, seed=22, fmt=1)[0][1][:3])
    b = np.array(games(1, seed=23, fmt=132, version=6)[0][1][:3])
    a["probabilities"][0] *= 2.0  # sums to 2: renormalised
    mixed = np.concatenate([a, b])
    batch = tensors.frames_to_batch(mixed)
    np.testing.assert_allclose(
        np.where(batch.probabilities >= 0, batch.probabilities, 0).sum(1), 1, atol=1e-5
    )
    np.testing.assert_allclose(batch.inputs[0, 109], a["rule50_count"][0] / 99)
    np.testing.assert_allclose(batch.inputs[3, 109], b["rule50_count"][0] / 100)
    # black to move in an armageddon format: plane 110 set
    assert batch.inputs[4, 110].all() == bool(b["invariance_info"][1] & 128)
