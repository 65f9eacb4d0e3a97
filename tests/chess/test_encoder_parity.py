"""The native input encoder against lcpipe.lc0.encoder.encode, bit for bit.

Every input format the trainer supports, on random games (standard, from
mid-game FENs, repeating, Chess960) and the 80 real lc0 fixture games; the
fill modes where they matter (the first positions of a game). The network
input written through lcl::encode_inputs matches the reference decoder
(lcpipe.lc0.tensors) on the same record fields.
"""

from __future__ import annotations

import chess
import numpy as np
import pytest
from chess_testlib import endgame_games, fixture_games, random_games
from lcpipe._native import chess as native

from lcpipe.lc0 import chunks, encoder, frames, tensors
from lcpipe.lc0.frames import INPUT_FORMATS
from lcpipe.lc0.report import ReadReport

FORMATS = sorted(INPUT_FORMATS)
FIELDS = ("castling", "side_to_move_or_enpassant", "rule50_count", "invariance_info", "transform")


def _games_from_fens() -> list[tuple[str, tuple[str, ...]]]:
    """Games that start mid-game: castling partly gone, en passant pending, high rule50."""
    out = []
    for fen, moves in random_games(12, seed=21, max_plies=120):
        board = chess.Board(fen)
        for uci in moves[:40]:
            board.push_uci(uci)
        out.append((board.fen(), moves[40:]))
    out.append(("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3", ("e5f6", "g8f6", "d2d4")))
    out.append(("rnbqkbnr/pppp1ppp/8/8/3Pp3/8/PPP1PPPP/RNBQKBNR b KQkq d3 0 2", ("e4d3", "c2d3")))
    out.append(("4k3/8/8/8/8/8/8/4K2R w K - 87 80", ("h1h2", "e8e7", "h2h1", "e7e8", "h1h2")))
    return out


GAMES = (
    list(random_games(14, seed=22, max_plies=250))
    + list(random_games(8, seed=23, max_plies=150, repeat_bias=0.4))
    + _games_from_fens()
    + list(endgame_games(("KQvK", "KRvKB", "KQvKR", "KRNvKR", "KBNvK", "KQRvKQ") * 3, seed=25))
)
GAMES_960 = list(random_games(6, seed=24, max_plies=150, chess960=True))


def _reference(fen: str, moves, fmt: int, fill: str, chess960: bool = False, upto: int | None = None):
    board = chess.Board(fen, chess960=chess960)
    game = encoder.GameHistory(board)
    for uci in moves:
        game.push(game.board.parse_uci(uci))
    n = len(game.snapshots) if upto is None else min(upto, len(game.snapshots))
    return [encoder.encode(game.snapshots, t, fmt, fill) for t in range(n)]


def _assert_equal(got: dict, want: list, where: str) -> None:
    n = len(want)
    assert np.array_equal(got["planes"][:n], np.stack([w.planes for w in want])), where
    assert np.array_equal(got["castling"][:n], np.array([w.castling for w in want], dtype=np.uint8)), where
    for name in FIELDS[1:]:
        assert got[name][:n].tolist() == [getattr(w, name) for w in want], f"{where}: {name}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_games_every_position(fmt):
    positions = 0
    for g, (fen, moves) in enumerate(GAMES):
        got = native.encode_game(fen, list(moves), fmt, "fen_only")
        want = _reference(fen, moves, fmt, "fen_only")
        _assert_equal(got, want, f"game {g}")
        positions += len(want)
    for g, (fen, moves) in enumerate(GAMES_960):
        got = native.encode_game(fen, list(moves), fmt, "fen_only")
        _assert_equal(got, _reference(fen, moves, fmt, "fen_only", chess960=True), f"960 game {g}")
        positions += len(moves) + 1
    assert positions > 3000


@pytest.mark.parametrize("fill", ["no", "always"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_fill_modes_on_the_first_positions(fmt, fill):
    # the fill mode only changes slots before the first recorded position
    for g, (fen, moves) in enumerate(GAMES):
        got = native.encode_game(fen, list(moves[:10]), fmt, fill)
        _assert_equal(got, _reference(fen, moves[:10], fmt, fill), f"game {g}")


def test_the_cases_that_matter_are_covered():
    transforms, repeated, ep = set(), 0, 0
    for fen, moves in GAMES:
        got = native.encode_game(fen, list(moves), 3, "fen_only")
        transforms |= set(got["transform"].tolist())
        ep += int(np.count_nonzero(got["side_to_move_or_enpassant"]))
        repeated += int(np.count_nonzero(got["planes"][:, 12]))
    assert transforms == set(range(8)) and ep > 10 and repeated > 20


@pytest.fixture(scope="module")
def real_games(lc0_fixtures):
    return fixture_games(lc0_fixtures)


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_lc0_games_against_the_reference(real_games, fmt):
    for name, moves in real_games:
        got = native.encode_game(chess.STARTING_FEN, moves, fmt, "fen_only")
        _assert_equal(got, _reference(chess.STARTING_FEN, moves, fmt, "fen_only"), name)


@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_real_lc0_games_against_lc0s_own_records(lc0_fixtures, real_games, fmt):
    # what lc0 itself wrote (format 1) or its rescorer converted (3 and 5)
    report = ReadReport()
    records = dict(chunks.iter_games(lc0_fixtures / "lc0-selfplay" / f"selfplay-fmt{fmt}.tar", report))
    assert report.ok and len(records) == 80
    for name, moves in real_games:
        arr = records[name]
        got = native.encode_game(chess.STARTING_FEN, moves, fmt, "fen_only")
        n = len(arr)  # a resigned game has no record after its last move
        assert np.array_equal(got["planes"][:n], arr["planes"]), name
        for i, side in enumerate(("us_ooo", "us_oo", "them_ooo", "them_oo")):
            assert np.array_equal(got["castling"][:n, i], arr[f"castling_{side}"]), name
        assert np.array_equal(got["side_to_move_or_enpassant"][:n], arr["side_to_move_or_enpassant"]), name
        assert np.array_equal(got["rule50_count"][:n], arr["rule50_count"]), name
        assert np.array_equal(got["invariance_info"][:n], arr["invariance_info"] & 0x87), name


@pytest.mark.parametrize("fmt", FORMATS)
def test_network_input_equals_the_reference_decoder(fmt):
    # write_network_input goes through lcl::encode_inputs; lcpipe.lc0.tensors decodes the same
    # record fields in numpy: both must give the same 112 planes
    for fen, moves in GAMES[::4]:
        got = native.encode_game(fen, list(moves), fmt, "fen_only", network_inputs=True)
        rows = frames.empty(len(moves) + 1)
        encoder.fill_frames(rows, _reference(fen, moves, fmt, "fen_only"), fmt)
        want = np.concatenate([tensors.planes_to_floats(rows["planes"]), tensors.aux_planes(rows)], axis=1)
        assert np.array_equal(got["inputs"], want.reshape(len(rows), 112, 64)), fen


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown input format 6"):
        native.encode_game(chess.STARTING_FEN, [], 6)
    with pytest.raises(ValueError, match="fill must be"):
        native.encode_game(chess.STARTING_FEN, [], 1, "sometimes")
    with pytest.raises(ValueError, match="illegal move 'e1e2'"):
        native.encode_game(chess.STARTING_FEN, ["e1e2"], 1)
