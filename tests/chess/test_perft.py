"""Perft: leaf counts of the native move generator against published numbers.

Standard positions from the chessprogramming wiki's perft page, the classic
edge-case list (en passant pins, castling through or into check, promotions,
discovered and double checks, stalemate) and Chess960 positions with
Shredder-FEN castling, each at a depth that takes well under a second.
"""

from __future__ import annotations

import chess
import pytest
from lcpipe._native import chess as native

CASES = [
    pytest.param("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", 5, 4865609, id="start"),
    pytest.param(
        "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 4, 4085603, id="kiwipete"
    ),
    pytest.param("8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", 5, 674624, id="cpw position 3"),
    pytest.param(
        "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1", 4, 422333, id="cpw position 4"
    ),
    pytest.param(
        "r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1",
        4,
        422333,
        id="cpw position 4 mirrored",
    ),
    pytest.param(
        "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", 4, 2103487, id="cpw position 5"
    ),
    pytest.param(
        "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10",
        4,
        3894594,
        id="cpw position 6",
    ),
    pytest.param("3k4/3p4/8/K1P4r/8/8/8/8 b - - 0 1", 6, 1134888, id="illegal ep: pinned along the rank"),
    pytest.param("8/8/4k3/8/2p5/8/B2P2K1/8 w - - 0 1", 6, 1015133, id="illegal ep: bishop pins the capturer"),
    pytest.param("8/8/1k6/2b5/2pP4/8/5K2/8 b - d3 0 1", 6, 1440467, id="ep capture gives check"),
    pytest.param("5k2/8/8/8/8/8/8/4K2R w K - 0 1", 6, 661072, id="short castling gives check"),
    pytest.param("3k4/8/8/8/8/8/8/R3K3 w Q - 0 1", 6, 803711, id="long castling gives check"),
    pytest.param(
        "r3k2r/1b4bq/8/8/8/8/7B/R3K2R w KQkq - 0 1", 4, 1274206, id="castling rights lost by captures"
    ),
    pytest.param("r3k2r/8/3Q4/8/8/5q2/8/R3K2R b KQkq - 0 1", 4, 1720476, id="castling prevented by attacks"),
    pytest.param("2K2r2/4P3/8/8/8/8/8/3k4 w - - 0 1", 6, 3821001, id="promote out of check"),
    pytest.param("8/8/1P2K3/8/2n5/1q6/8/5k2 b - - 0 1", 5, 1004658, id="discovered check"),
    pytest.param("4k3/1P6/8/8/8/8/K7/8 w - - 0 1", 6, 217342, id="promote to give check"),
    pytest.param("8/P1k5/K7/8/8/8/8/8 w - - 0 1", 6, 92683, id="underpromote to give check"),
    pytest.param("K1k5/8/P7/8/8/8/8/8 w - - 0 1", 6, 2217, id="self stalemate"),
    pytest.param("8/k1P5/8/1K6/8/8/8/8 w - - 0 1", 7, 567584, id="stalemate and checkmate"),
    pytest.param("8/8/2k5/5q2/5n2/8/5K2/8 b - - 0 1", 4, 23527, id="double check"),
    pytest.param(
        "bqnb1rkr/pp3ppp/3ppn2/2p5/5P2/P2P4/NPP1P1PP/BQ1BNRKR w HFhf - 2 9", 4, 326672, id="960: HFhf"
    ),
    pytest.param("2nnrbkr/p1qppppp/8/1ppb4/6PP/3PP3/PPP2P2/BQNNRBKR w HEhe - 1 9", 4, 667366, id="960: HEhe"),
    pytest.param("b1q1rrkb/pppppppp/3nn3/8/P7/1PPP4/4PPPP/BQNNRKRB w GE - 1 9", 4, 273318, id="960: GE"),
    pytest.param("qbbnnrkr/2pp2pp/p7/1p2pp2/8/P3PP2/1PPP1KPP/QBBNNR1R w hf - 0 9", 4, 382958, id="960: hf"),
]


@pytest.mark.parametrize(("fen", "depth", "nodes"), CASES)
def test_perft_matches_published_counts(fen, depth, nodes):
    assert native.perft(fen, depth) == nodes


def _python_perft(board: chess.Board, depth: int) -> int:
    if depth == 1:
        return board.legal_moves.count()
    total = 0
    for move in board.legal_moves:
        board.push(move)
        total += _python_perft(board, depth - 1)
        board.pop()
    return total


@pytest.mark.parametrize(("fen", "depth", "nodes"), CASES)
def test_perft_depth_3_matches_python_chess(fen, depth, nodes):
    # a second, independent reference for the shallow tree of every case
    assert native.perft(fen, 3) == _python_perft(chess.Board(fen, chess960=True), 3)


def test_depth_zero_is_one_node():
    assert native.perft(native.START_FEN, 0) == 1


@pytest.mark.parametrize(
    "fen,reason",
    [
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBN w KQkq - 0 1", "not 8 ranks of 8 squares"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNRR w KQkq - 0 1", "unexpected 'R'"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBXKBNR w KQkq - 0 1", "unexpected 'X'"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBKKBNR w KQkq - 0 1", "more than one king"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1", "side to move"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQz - 0 1", "castling field"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e5 0 1", "en-passant field"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - x 1", "move counters"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - -3 1", "must not be negative"),
        ("", "at least a board"),
    ],
)
def test_bad_fen_is_a_clear_error(fen, reason):
    with pytest.raises(ValueError, match=reason):
        native.perft(fen, 1)


def test_castling_rights_without_their_rook_are_dropped():
    # KQkq with the h1 rook gone: no h-side castling, and the FEN written back says so
    fen = "r3k2r/8/8/8/8/8/8/R3K3 w KQkq - 0 1"
    assert "e1g1" not in native.legal_moves(fen)
    assert native.play(fen, []) == "r3k2r/8/8/8/8/8/8/R3K3 w Qkq - 0 1"
