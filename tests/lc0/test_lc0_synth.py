"""Synthetic games: deterministic, legal, consistent, fast enough."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lcpipe.lc0 import chunks, decoder, frames as fr, policy, synth
from lc0_testlib import games


def test_same_seed_same_bytes():
    a = synth.generate_games(3, seed=5, input_format=3, version=7)
    b = synth.generate_games(3, seed=5, input_format=3, version=7)
    c = synth.generate_games(3, seed=6, input_format=3, version=7)
    assert [x.tobytes() for _, x in a] == [x.tobytes() for _, x in b]
    assert [x.tobytes() for _, x in a] != [x.tobytes() for _, x in c]


@pytest.mark.parametrize("fmt,version", [(1, 6), (3, 7), (5, 7), (133, 6)])
def test_games_are_legal_and_consistent(fmt, version):
    for name, arr in games(4, seed=31, fmt=fmt, version=version):
        assert arr.dtype == fr.DTYPES[version] and (arr["input_format"] == fmt).all()
        p = arr["probabilities"]
        legal = p >= 0
        np.testing.assert_allclose(np.where(legal, p, 0).sum(1), 1, atol=1e-5)
        assert (p[~legal] == -1).all() and (p.max(axis=1) > 0.2).mean() > 0.5  # peaked
        assert all(fr.bad_frame_reason(arr)[i] is None for i in range(len(arr)))
        # each frame + its played move gives the next frame's position
        for t in range(len(arr)):
            d = decoder.decode_frame(arr[t])
            board = d.board
            moves = list(board.legal_moves)
            idx = policy.legal_move_indices(board, moves, d.transform)
            assert set(np.flatnonzero(legal[t])) == set(idx.tolist())
            move = policy.index_to_move(board, int(arr["played_idx"][t]), d.transform)
            assert legal[t, arr["best_idx"][t]]
            if t + 1 < len(arr):
                board.push(move)
                nxt = decoder.decode_frame(arr[t + 1]).board
                assert nxt.board_fen() == board.board_fen() and nxt.turn == board.turn
        # values: results alternate, plies_left counts down, W/D/L valid
        rq = arr["result_q"]
        assert np.all(rq[1:] == -rq[:-1])
        assert np.all(np.diff(arr["plies_left"]) == -1) and arr["plies_left"][-1] == 1
        for prefix in ("root", "best", "played", "orig"):
            q, d = arr[f"{prefix}_q"], arr[f"{prefix}_d"]
            assert ((1 + q - d) / 2 >= -1e-6).all() and ((1 - q - d) / 2 >= -1e-6).all()
        if version == 7:
            assert arr["opp_played_idx"][-1] == 65535 and arr["next_played_idx"][-2] == 65535
            assert np.array_equal(arr["opp_played_idx"][:-1], arr["played_idx"][1:])
            assert not np.isnan(arr["q_st"]).any()


def test_write_games_chunks_and_tar(tmp_path):
    paths = synth.write_games(tmp_path / "g", 3, seed=1)
    assert [p.name for p in paths] == sorted(p.name for p in paths) and all(p.suffix == ".gz" for p in paths)
    tar = synth.write_games(tmp_path / "t", 3, seed=1, tar=True)
    assert len(tar) == 1 and tar[0].suffix == ".tar"
    assert chunks.read_frames(tar[0]).tobytes() == chunks.read_frames(paths).tobytes()


def test_generation_speed():
    start = time.process_time()
    out = synth.generate_games(40, seed=99)
    elapsed = time.process_time() - start
    assert sum(len(a) for _, a in out) > 1000
    assert elapsed < 10.0  # ~200 games in a few seconds on an idle core
