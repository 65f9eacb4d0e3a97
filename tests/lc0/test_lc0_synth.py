"""Synthetic games: deterministic, legal, consistent, fast enough."""

from __future__ import annotations

import time

import numpy as np
import pytest
from lc0_testlib import games

from lcpipe.lc0 import chunks, decoder, policy, synth
from lcpipe.lc0 import frames as fr


def test_same_seed_same_bytes():
    a = synth.generate_games(3, seed=5, input_format=3, version=7)
    b = synth.generate_games(3, seed=5, input_format=3, version=7)
    c = synth.generate_games(3, seed=6, input_format=3, version=7)
    assert [x.tobytes() for _, x in a] == [x.tobytes() for _, x in b]
    assert [x.tobytes() for _, x in a] != [x.tobytes() for _, x in c]


@pytest.mark.parametrize("fmt,version", [(1, 6), (3, 7), (5, 7), (133, 6)])
def test_games_are_legal_and_consistent(fmt, version):
    for _name, arr in games(4, seed=31, fmt=fmt, version=version):
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


def test_random_endgames_are_legal_positions_of_the_material():
    import chess

    rng = np.random.default_rng(2)
    for material in ("KQvKR", "KRPvKR", "KPPvKP", "KvKQ"):
        counts = sorted("".join(sorted(side)) for side in material.split("v"))
        for _ in range(20):
            board = chess.Board(synth.random_endgame(rng, material))
            assert board.is_valid() and not board.is_game_over()
            sides = sorted(
                "".join(
                    sorted(board.piece_at(s).symbol().upper() for s in chess.SquareSet(board.occupied_co[c]))
                )
                for c in (chess.WHITE, chess.BLACK)
            )
            assert sides == counts
    with pytest.raises(ValueError):
        synth.random_endgame(rng, "QvKR")


@pytest.mark.parametrize("fmt", [1, 3])
def test_games_start_from_given_positions(fmt):
    fens = [
        "4k3/8/8/8/8/8/1QQ5/4K3 b - - 0 1",
        "4k3/8/8/8/3pP3/8/8/4K3 b - e3 0 1",
        "8/3k4/8/8/8/8/2RK4/8 w - - 3 9",
        "4K3/8/8/8/8/8/1qq5/4k3 w - - 0 1",
    ]
    decisive = 0
    for (_name, arr), fen in zip(
        synth.generate_games(4, seed=4, input_format=fmt, start_fens=fens, max_plies=21), fens
    ):
        first = decoder.decode_frame(arr[0]).board
        start = chess_board(fen)
        assert first.board_fen() == start.board_fen() and first.turn == start.turn
        assert first.ep_square == start.ep_square and first.halfmove_clock == start.halfmove_clock
        # result_q is the final result from each frame's side to move
        last = decoder.decode_frame(arr[-1])
        end = last.board
        end.push(policy.index_to_move(end, int(arr["played_idx"][-1]), last.transform))
        result_white, _ = synth._outcome(end)
        black = np.array([decoder.decode_frame(f).black_to_move for f in arr])
        np.testing.assert_array_equal(np.where(black, -arr["result_q"], arr["result_q"]), result_white)
        decisive += result_white != 0
    assert decisive >= 2


def chess_board(fen):
    import chess

    return chess.Board(fen)
