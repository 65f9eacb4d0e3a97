"""The native 1858 policy index against lcpipe.lc0.policy (its one source).

Every legal move of positions from random games (standard and Chess960) and
the real lc0 games, under all eight transforms; the inverse; and lc0's own
played_idx in its records.
"""

from __future__ import annotations

import chess
import numpy as np
import pytest
from chess_testlib import boards_along, endgame_games, fixture_games, random_games
from lcpipe._native import chess as native

from lcpipe.lc0 import chunks, policy
from lcpipe.lc0.report import ReadReport

GAMES = list(random_games(10, seed=31, max_plies=250)) + list(endgame_games(("KQvKR", "KRBvKN") * 2, seed=32))


def _positions(games, chess960=False, step=1):
    for fen, moves in games:
        for board, i in boards_along(fen, moves, chess960=chess960):
            if i % step == 0:
                yield board


@pytest.mark.parametrize("transform", range(8))
def test_every_legal_move_of_random_games(transform):
    checked = 0
    for board in _positions(GAMES, step=2):
        if transform & 6 and board.pawns:
            continue  # lc0 mirrors ranks only in pawnless positions (promotions have no mirrored index)
        got = dict(native.legal_policy_indices(board.fen(), transform))
        want = {m.uci(): policy.move_index(board, m, transform) for m in board.legal_moves}
        assert got == want, board.fen()
        checked += len(want)
    assert checked > (20000 if transform < 2 else 1000)


def test_chess960_castling_is_king_takes_rook():
    for board in _positions(random_games(6, seed=33, max_plies=120, chess960=True), chess960=True):
        got = {board.parse_uci(u): i for u, i in native.legal_policy_indices(board.fen(), 0)}
        assert got == {m: policy.move_index(board, m) for m in board.legal_moves}, board.fen()


@pytest.mark.parametrize("transform", [0, 1, 3, 5])
def test_index_back_to_move(transform):
    for board in _positions(GAMES[:3] + GAMES[-2:], step=3):
        if transform & 6 and board.pawns:
            continue
        for uci, idx in native.legal_policy_indices(board.fen(), transform):
            back = native.move_from_policy_index(board.fen(), idx, transform)
            assert (
                board.parse_uci(back) == policy.index_to_move(board, idx, transform) == board.parse_uci(uci)
            )
    assert native.move_from_policy_index(native.START_FEN, policy.MOVE_INDEX["e2e5"]) is None


def test_played_moves_of_real_lc0_records(lc0_fixtures):
    # format 3 records carry lc0's transform; played_idx is lc0's own index of the move played
    report = ReadReport()
    records = dict(chunks.iter_games(lc0_fixtures / "lc0-selfplay" / "selfplay-fmt3.tar", report))
    transforms = set()
    for name, moves in fixture_games(lc0_fixtures):
        board = chess.Board()
        for frame, uci in zip(records[name], moves):
            transform = int(frame["invariance_info"]) & 7
            transforms.add(transform)
            assert native.policy_index(board.fen(), uci, transform) == frame["played_idx"], (name, uci)
            legal = {i for _, i in native.legal_policy_indices(board.fen(), transform)}
            assert legal == set(np.flatnonzero(frame["probabilities"] >= 0).tolist()), name
            board.push(board.parse_uci(uci))
    assert len(transforms) > 1


def test_the_native_table_is_the_python_one():
    assert [native.policy_move(i) for i in range(policy.NUM_MOVES)] == policy.MOVES
    with pytest.raises(IndexError):
        native.policy_move(policy.NUM_MOVES)


def test_bad_transform_is_a_clear_error():
    with pytest.raises(ValueError, match="transform must be 0..7"):
        native.policy_index(native.START_FEN, "e2e4", 8)
