"""Game-end rules of the native PositionHistory, as lc0 decides them.

Order (lc0's PositionHistory::ComputeGameResult): no legal move is mate or
stalemate; then insufficient material (lc0's HasMatingMaterial), rule50 >=
100 and a third occurrence are draws. Inside a search tree one earlier
occurrence at or after the root is a draw too. Checked on hand-made cases and
against python-chess / lcpipe's reference repetition count on random games.
"""

from __future__ import annotations

import chess
import pytest
from chess_testlib import boards_along, endgame_games, random_games
from lcpipe._native import chess as native

from lcpipe.lc0.encoder import GameHistory

START = native.START_FEN
SHUFFLE = ["g1f3", "g8f6", "f3g1", "f6g8"]


def state(fen, moves=(), plies_from_root=-1):
    return native.game_state(fen, list(moves), plies_from_root)


def test_checkmate():
    s = state(START, ["f2f3", "e7e5", "g2g4", "d8h4"])
    assert s["checkmate"] and s["result"] == "0-1"


def test_stalemate():
    s = state("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert s["stalemate"] and s["result"] == "1/2-1/2"


def test_fifty_move_rule_is_a_draw_at_100_plies():
    fen = "7k/8/6K1/8/8/8/8/R7 w - - 98 80"
    assert state(fen, ["a1a2"])["result"] == "*"
    s = state(fen, ["a1a2", "h8g8"])
    assert s["rule50"] == 100 and s["result"] == "1/2-1/2"


def test_mate_on_the_hundredth_ply_wins():
    fen = "7k/8/6K1/8/8/8/8/R7 w - - 99 80"
    s = state(fen, ["a1a8"])
    assert s["rule50"] == 100 and s["checkmate"] and s["result"] == "1-0"
    assert state(fen, ["a1a2"])["result"] == "1/2-1/2"


@pytest.mark.parametrize(
    "fen,insufficient",
    [
        ("8/8/4k3/8/8/3K4/8/8 w - - 0 1", True),  # K v K
        ("8/8/4k3/8/8/3KB3/8/8 w - - 0 1", True),  # K+B v K
        ("8/8/4k3/8/8/3KN3/8/8 w - - 0 1", True),  # K+N v K
        ("8/8/4kb2/8/8/3KB3/8/8 w - - 0 1", True),  # bishops on one colour (e3, f6: dark)
        ("8/8/4k3/8/8/3KBB2/8/8 w - - 0 1", False),  # two bishops on both colours
        ("8/8/4k3/2B5/8/3KB3/8/8 w - - 0 1", True),  # two bishops, both dark (c5, e3)
        ("8/8/4kb2/8/8/3K1B2/8/8 w - - 0 1", False),  # bishops on both colours
        ("8/8/4kn2/8/8/3KN3/8/8 w - - 0 1", False),  # K+N v K+N: lc0 plays on
        ("8/8/4k3/8/8/3KNN2/8/8 w - - 0 1", False),  # K+N+N v K
        ("8/8/4kn2/8/8/3KB3/8/8 w - - 0 1", False),  # K+B v K+N
        ("8/8/4k3/8/8/3KP3/8/8 w - - 0 1", False),  # a pawn
        ("8/8/4k3/8/8/3KR3/8/8 w - - 0 1", False),  # a rook
        ("8/8/4k3/8/8/3KQ3/8/8 w - - 0 1", False),  # a queen
    ],
)
def test_insufficient_material_by_lc0s_rule(fen, insufficient):
    s = state(fen)
    assert s["insufficient_material"] == insufficient
    assert s["result"] == ("1/2-1/2" if insufficient else "*")


def test_threefold_repetition_in_the_game():
    assert state(START, SHUFFLE[:3])["repetitions"] == 0
    once = state(START, SHUFFLE)
    assert once["repetitions"] == 1 and once["plies_since_repetition"] == 4 and once["result"] == "*"
    twice = state(START, SHUFFLE * 2)
    assert twice["repetitions"] == 2 and twice["result"] == "1/2-1/2"


def test_one_earlier_occurrence_inside_the_search_tree_is_a_draw():
    # the earlier occurrence is 4 plies back: inside a tree rooted 4 or more plies back, not 3
    assert state(START, SHUFFLE, plies_from_root=4)["search_result"] == "1/2-1/2"
    assert state(START, SHUFFLE, plies_from_root=3)["search_result"] == "*"
    assert state(START, SHUFFLE, plies_from_root=4)["result"] == "*"


def test_en_passant_right_makes_a_different_position():
    # after d2d4 with a black pawn on e4 the capture is possible: the position differs from the
    # same placement reached later without that right (lcpipe.lc0.encoder.position_key's rule)
    fen = "4k3/8/8/8/4p3/8/3P4/4K1Nn b - - 0 1"
    moves = ["h1g3", "d2d4", "g3h1", "g1f3", "h1g3", "f3g1", "g3h1", "g1f3", "h1g3", "f3g1"]
    s = state(fen, moves[:3])
    assert s["repetitions"] == 0
    assert state(fen, moves)["repetitions"] == 1


def _lc0_result(board: chess.Board, repetitions: int) -> str:
    """lc0's rule written with python-chess (where python-chess agrees with lc0)."""
    if board.is_checkmate():
        return "0-1" if board.turn == chess.WHITE else "1-0"
    if (
        board.is_stalemate()
        or board.is_insufficient_material()
        or board.halfmove_clock >= 100
        or repetitions >= 2
    ):
        return "1/2-1/2"
    return "*"


def test_every_position_of_random_games_against_python_chess():
    games = random_games(10, seed=41, max_plies=300, repeat_bias=0.3) + endgame_games(
        ("KRvK", "KQvKN", "KBvKB", "KNvKB", "KBNvK", "KQRvK") * 5, seed=42, max_plies=150, take_mates=True
    )
    results = set()
    for fen, moves in games:
        reference = GameHistory(chess.Board(fen))
        for board, i in boards_along(fen, moves):
            if i:
                reference.push(board.peek())
            s = state(fen, moves[:i])
            reps = reference.snapshots[-1].repetitions
            assert s["repetitions"] == reps, (fen, moves[:i])
            assert s["checkmate"] == board.is_checkmate() and s["stalemate"] == board.is_stalemate()
            assert s["in_check"] == board.is_check()
            assert s["result"] == _lc0_result(board, reps), (fen, moves[:i])
            results.add(s["result"])
    assert results == {"*", "1-0", "0-1", "1/2-1/2"}
