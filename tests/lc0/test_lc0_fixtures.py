"""Acceptance tests against real lc0 self-play data (formats 1, 3 and 5).

For every frame of the 80 fixture games: replaying games.txt gives the
position before the frame; the frame decodes to that position and its
history; played_idx is the move actually played; the legal entries of the
policy are exactly the legal moves; and our encoder reproduces lc0's planes
and aux bytes bit for bit.
"""

from __future__ import annotations

import chess
import numpy as np
import pytest
from lc0_testlib import parse_lc0_uci

from lcpipe.lc0 import chunks, decoder, encoder, policy
from lcpipe.lc0.report import ReadReport


def placement(b: chess.BaseBoard) -> tuple[int, ...]:
    """Piece placement as bitboards (much faster to compare than FENs)."""
    return (b.pawns, b.knights, b.bishops, b.rooks, b.queens, b.kings, b.occupied_co[chess.WHITE])


def ep_square(b: chess.Board) -> int | None:
    return b.ep_square if b.has_legal_en_passant() else None


@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_fixture_games_replay_decode_and_reencode(selfplay_dir, fixture_games, fmt):
    report = ReadReport()
    games = list(chunks.iter_games(selfplay_dir / f"selfplay-fmt{fmt}.tar", report))
    assert report.ok and len(games) == 80 and report.frames == 7029
    transforms_seen = set()
    for key, arr in games:
        info = fixture_games[key]
        moves = info["moves"]
        # a resigned game has one frame fewer than moves, and is marked adjudicated
        assert len(arr) in (len(moves), len(moves) - 1), key
        if len(arr) == len(moves) - 1:
            assert (arr["invariance_info"] & 32).all(), key
        assert (arr["input_format"] == fmt).all()
        board = chess.Board()
        game = encoder.GameHistory()
        fens = [placement(board)]
        for t, frame in enumerate(arr):
            where = f"{key} frame {t}"
            move = parse_lc0_uci(board, moves[t])
            transform = int(frame["invariance_info"]) & 7 if fmt != 1 else 0
            transforms_seen.add(transform)
            # decode -> the true position
            d = decoder.decode_frame(frame)
            assert placement(d.board) == placement(board), where
            assert d.board.turn == board.turn, where
            assert d.board.clean_castling_rights() == board.clean_castling_rights(), where
            assert d.board.halfmove_clock == board.halfmove_clock, where
            assert ep_square(d.board) == ep_square(board), where
            # decoded history = the true earlier positions (as far as present)
            assert placement(d.history[0]) == placement(board), where
            for h, hb in enumerate(d.history[1:], start=1):
                if fmt == 5:  # v2 keeps only earlier positions that are repetitions
                    assert d.repetitions[h], where
                    assert placement(hb) in fens[:t], where
                else:
                    assert placement(hb) == fens[t - h], f"{where} history {h}"
            if fmt == 1:
                assert len(d.history) == min(t + 1, 8), where
            # policy: legal set, played and best moves
            moves_now = list(board.legal_moves)
            legal = policy.legal_move_indices(board, moves_now, transform)
            assert set(np.flatnonzero(frame["probabilities"] >= 0)) == set(legal.tolist()), where
            assert legal[moves_now.index(move)] == frame["played_idx"], where
            assert frame["best_idx"] in set(legal.tolist()), where
            assert policy.index_to_move(board, int(frame["played_idx"]), transform) == move, where
            # re-encode bit for bit
            enc = encoder.encode(game.snapshots, t, fmt)
            assert np.array_equal(enc.planes, frame["planes"]), where
            assert enc.castling == (
                frame["castling_us_ooo"],
                frame["castling_us_oo"],
                frame["castling_them_ooo"],
                frame["castling_them_oo"],
            ), where
            assert enc.side_to_move_or_enpassant == frame["side_to_move_or_enpassant"], where
            assert enc.rule50_count == frame["rule50_count"], where
            assert enc.invariance_info == frame["invariance_info"] & 0x87, where
            board.push(move)
            game.push(move)
            fens.append(placement(board))
    if fmt != 1:  # the data exercises flips and transposes
        assert {1, 4} <= {t & 5 for t in transforms_seen}


def test_fixture_value_facts(selfplay_dir):
    """Facts of the fixture README hold in what we read."""
    for key, arr in chunks.iter_games(selfplay_dir / "selfplay-fmt1.tar"):
        assert (arr["version"] == 6).all()
        p = arr["probabilities"]
        legal_sum = np.where(p >= 0, p, 0).sum(axis=1)
        assert np.allclose(legal_sum, 1, atol=1e-4), key
        assert np.all(np.diff(arr["plies_left"]) == -1), key
        rq = arr["result_q"]
        assert np.all(rq[1:] == -rq[:-1]) or np.all(rq == 0), key
        assert ((arr["visits"] >= 64) & (arr["visits"] <= 79)).all(), key
