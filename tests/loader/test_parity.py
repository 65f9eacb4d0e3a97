"""The native loader's batches equal the Python reference decoder's
(lcpipe.lc0.tensors) frame for frame when shuffling is off."""

from __future__ import annotations

import numpy as np
import pytest
from loader_testlib import in_order, run_chain

from lcpipe.lc0 import chunks, synth, tensors


def assert_same(result, ref):
    assert len(result) == len(ref)
    np.testing.assert_array_equal(result.inputs, ref.inputs)
    np.testing.assert_array_equal(result.probabilities, ref.probabilities)
    np.testing.assert_array_equal(result.values, ref.values)  # NaN == NaN here
    np.testing.assert_array_equal(result.opponent_idx, ref.opponent_idx)
    np.testing.assert_array_equal(result.next_idx, ref.next_idx)


@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_real_lc0_tars_match_reference(lc0_fixtures, fmt):
    path = lc0_fixtures / "lc0-selfplay" / f"selfplay-fmt{fmt}.tar"
    result = run_chain([path], in_order())
    ref = tensors.frames_to_batch(chunks.read_frames(path))
    assert len(ref) == 7029
    assert_same(result, ref)
    assert result.stats["s0_read/members"] == 80
    assert not result.problems


@pytest.mark.parametrize("fmt,version", [(1, 6), (2, 7), (3, 7), (4, 6), (5, 7), (132, 7), (133, 6)])
def test_generated_chunks_match_reference(tmp_path, fmt, version):
    paths = synth.write_games(tmp_path, 4, seed=fmt, input_format=fmt, version=version, max_plies=40)
    result = run_chain(paths, in_order())
    ref = tensors.frames_to_batch(chunks.read_frames(paths))
    assert_same(result, ref)


def test_generated_tar_v7_keeps_short_term_and_move_indices(tmp_path):
    (path,) = synth.write_games(tmp_path, 5, seed=3, input_format=3, version=7, tar=True, max_plies=30)
    result = run_chain([path], in_order())
    ref = tensors.frames_to_batch(chunks.read_frames(path))
    assert_same(result, ref)
    assert np.isfinite(result.values[:, 5, :2]).all()
    assert (result.opponent_idx >= 0).any() and (result.opponent_idx == -1).any()


def test_old_versions_are_upgraded_like_the_reference(tmp_path):
    # A V5 record built from a V6 one: version 5 layout, same planes and policy.
    from lcpipe.lc0 import frames as fr

    ((name, v6),) = synth.generate_games(1, seed=9, input_format=1, version=6, max_plies=12)
    old = np.zeros(len(v6), dtype=fr.V5_DTYPE)
    old["version"] = 5
    old["input_format"] = 1
    for f in (
        "probabilities",
        "planes",
        "rule50_count",
        "root_q",
        "best_q",
        "root_d",
        "best_d",
        "root_m",
        "best_m",
        "plies_left",
    ):
        old[f] = v6[f]
    old["castling"] = np.stack(
        [v6[n] for n in ("castling_us_ooo", "castling_us_oo", "castling_them_ooo", "castling_them_oo")],
        axis=1,
    )
    old["side_to_move"] = v6["side_to_move_or_enpassant"]
    old["result"] = np.sign(v6["result_q"]).astype(np.int8)
    path = tmp_path / "old.gz"
    chunks.atomic_write(path, __import__("gzip").compress(old.tobytes()))
    result = run_chain([path], in_order())
    ref = tensors.frames_to_batch(chunks.read_frames(path))
    assert len(ref) == len(v6)
    assert_same(result, ref)

    # A result byte that is not -1/0/1 costs that frame only, in both readers.
    from lcpipe.lc0.report import ReadReport

    old["result"][3] = 7
    bad = tmp_path / "old_bad_result.gz"
    chunks.atomic_write(bad, __import__("gzip").compress(old.tobytes()))
    result = run_chain([bad], in_order())
    report = ReadReport()
    ref = tensors.frames_to_batch(chunks.read_frames([bad], report=report))
    assert len(ref) == len(v6) - 1
    assert_same(result, ref)
    assert [p.frame for p in report.problems] == [3]
    assert "invalid game result byte" in report.problems[0].message
    assert any("invalid game result byte" in p for p in result.problems)


@pytest.mark.parametrize("version", [6, 7])
def test_frames_without_a_game_result_are_dropped_by_both(tmp_path, version):
    """NaN/inf result_q or result_d, or NaN plies_left: the frame has no value
    target, so the native loader and the reference both drop and report it."""
    from lcpipe.lc0 import frames as fr
    from lcpipe.lc0.report import ReadReport

    ((name, arr),) = synth.generate_games(1, seed=4, input_format=3, version=version, max_plies=30)
    arr = arr.copy()
    arr["result_q"][2] = np.nan
    arr["result_d"][5] = np.inf
    arr["plies_left"][7] = np.nan
    arr["best_q"][9] = np.nan  # other NaN values are data, not damage: kept
    path = tmp_path / "game_nan.gz"
    chunks.write_chunk(path, arr)
    result = run_chain([path], in_order())
    report = ReadReport()
    ref = tensors.frames_to_batch(chunks.read_frames([path], report=report))
    assert len(ref) == len(arr) - 3
    assert_same(result, ref)
    assert [p.frame for p in report.problems] == [2, 5, 7]
    assert all("NaN game result" in p.message for p in report.problems)
    assert result.stats["s2_unpack/skipped"] == 3 and result.stats["s2_unpack/bad"] == 1
    assert any("NaN game result" in p for p in result.problems)
    assert fr.bad_frame_reason(arr)[9] is None
