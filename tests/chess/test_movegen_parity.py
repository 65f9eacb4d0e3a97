"""The native move generator against python-chess on every position of random games.

Legal move sets (exact UCI text in standard chess; as moves in Chess960, where
castling is written king-to-rook), the position after each move, and the
Zobrist key against lcpipe.lc0.encoder.position_key (lc0's repetition rule).
"""

from __future__ import annotations

import chess
import pytest
from chess_testlib import boards_along, random_games
from lcpipe._native import chess as native

from lcpipe.lc0.encoder import position_key

STANDARD = random_games(40, seed=11, max_plies=300)
CHESS960 = random_games(16, seed=12, max_plies=200, chess960=True)


def _same_position(board: chess.Board, fen: str) -> bool:
    other = chess.Board(fen, chess960=board.chess960)
    return (
        other.board_fen() == board.board_fen()
        and other.turn == board.turn
        and other.clean_castling_rights() == board.clean_castling_rights()
        and other.halfmove_clock == board.halfmove_clock
        and other.fullmove_number == board.fullmove_number
        and (other.ep_square if other.has_legal_en_passant() else None)
        == (board.ep_square if board.has_legal_en_passant() else None)
    )


def test_random_games_cover_the_special_moves():
    kinds = set()
    positions = 0
    for fen, moves in STANDARD:
        for board, i in boards_along(fen, moves):
            positions += 1
            if i < len(moves):
                m = board.parse_uci(moves[i])
                kinds |= {
                    k
                    for k, hit in (
                        ("castle", board.is_castling(m)),
                        ("ep", board.is_en_passant(m)),
                        ("promotion", m.promotion is not None),
                        ("underpromotion", m.promotion not in (None, chess.QUEEN)),
                        ("check", board.gives_check(m)),
                    )
                    if hit
                }
    assert kinds == {"castle", "ep", "promotion", "underpromotion", "check"}
    assert positions > 5000


def test_legal_moves_equal_python_chess_in_standard_games():
    for fen, moves in STANDARD:
        for board, _i in boards_along(fen, moves):
            expected = sorted(m.uci() for m in board.legal_moves)
            assert sorted(native.legal_moves(board.fen())) == expected, board.fen()


def test_legal_moves_equal_python_chess_in_chess960_games():
    for fen, moves in CHESS960:
        for board, _ in boards_along(fen, moves, chess960=True):
            got = {board.parse_uci(u) for u in native.legal_moves(board.fen())}
            assert got == set(board.legal_moves), board.fen()


@pytest.mark.parametrize("games,chess960", [(STANDARD[:10], False), (CHESS960[:8], True)])
def test_playing_the_moves_gives_python_chess_positions(games, chess960):
    for fen, moves in games:
        for board, i in boards_along(fen, moves, chess960=chess960):
            fen_now = native.play(fen, list(moves[:i]))
            assert _same_position(board, fen_now), (fen, moves[:i])
            # the key make_move updates equals the one computed afresh
            assert native.position_hash(fen, list(moves[:i])) == native.position_hash(fen_now)


def test_zobrist_key_stands_for_the_repetition_key():
    # equal keys <=> equal positions in lc0's sense, over games that repeat a lot
    games = random_games(12, seed=13, max_plies=200, repeat_bias=0.3)
    seen: dict[tuple, int] = {}
    hashes: dict[int, tuple] = {}
    for fen, moves in games:
        for board, i in boards_along(fen, moves):
            h = native.position_hash(fen, list(moves[:i]))
            assert h == native.position_hash(native.play(fen, list(moves[:i])))  # updated == recomputed
            key = position_key(board)
            assert seen.setdefault(key, h) == h
            assert hashes.setdefault(h, key) == key
    assert len(seen) < sum(len(m) + 1 for _, m in games)  # some positions did repeat


@pytest.mark.parametrize(
    "fen,uci",
    [
        ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", ["e1g1", "e1c1"]),
        ("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", ["e8g8", "e8c8"]),
        # Chess960: king b1, rooks a1 and h1: castling is written king-to-rook
        ("6k1/8/8/8/8/8/8/RK5R w HA - 0 1", ["b1a1", "b1h1"]),
    ],
)
def test_castling_uci(fen, uci):
    moves = native.legal_moves(fen)
    assert set(uci) <= set(moves)


def test_king_takes_rook_castling_is_accepted_in_standard_chess():
    # lc0 logs castling as e1h1; in standard chess the FEN comes back the same either way
    fen = "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1"
    assert native.play(fen, ["e1h1"]) == native.play(fen, ["e1g1"]) == "r3k2r/8/8/8/8/8/8/R4RK1 b kq - 1 1"


def test_shredder_and_xfen_castling_parse_alike():
    assert native.play("rk5r/8/8/8/8/8/8/RK5R w HAha - 0 1", []) == native.play(
        "rk5r/8/8/8/8/8/8/RK5R w KQkq - 0 1", []
    )


def test_illegal_move_is_a_clear_error():
    with pytest.raises(ValueError, match="illegal move 'e2e5'"):
        native.play(native.START_FEN, ["e2e5"])
