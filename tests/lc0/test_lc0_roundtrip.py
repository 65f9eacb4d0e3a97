"""Encoder -> decoder round trips over thousands of positions, every format."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from lcpipe.lc0 import decoder, encoder
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.frames import INPUT_FORMATS

STARTS = [
    chess.STARTING_FEN,
    "8/8/8/8/5K2/8/6q1/6kq w - - 0 74",  # pawnless: transposes happen
    "4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1",
    "r3k2r/pppq1ppp/2n5/3pP3/8/8/PPP2PPP/R3K2R w KQkq d6 0 12",  # en passant available
    "8/2k5/8/3QK3/8/8/8/8 b - - 10 60",
]


def random_positions(n: int, seed: int):
    """GameHistory objects and ply counts of random games from several starts."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(g.snapshots) for g in out) < n:
        game = encoder.GameHistory(chess.Board(STARTS[len(out) % len(STARTS)]))
        for _ in range(int(rng.integers(20, 90))):
            b = game.board
            moves = list(b.legal_moves)
            if not moves or b.is_insufficient_material():
                break
            # shuffle pieces back and forth sometimes so repetitions occur
            if len(b.move_stack) >= 4 and rng.random() < 0.25:
                back = b.move_stack[-4]
                if back in b.legal_moves:
                    game.push(back)
                    continue
            game.push(moves[int(rng.integers(len(moves)))])
        out.append(game)
    return out


GAMES = random_positions(1200, seed=3)


def _frame(enc: encoder.Encoded, fmt: int) -> np.void:
    arr = fr.empty(1, 6)
    encoder.fill_frames(arr, [enc], fmt)
    return arr[0]


def _placement(b: chess.BaseBoard):
    return (b.pawns, b.knights, b.bishops, b.rooks, b.queens, b.kings, b.occupied_co[chess.WHITE])


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_encode_decode_round_trip(fmt):
    checked = 0
    for game in GAMES:
        root = game.board.root()
        boards = [root.copy(stack=False)]
        for move in game.board.move_stack:
            boards.append(boards[-1].copy(stack=False))
            boards[-1].push(move)
        for t, true in enumerate(boards):
            enc = encoder.encode(game.snapshots, t, fmt)
            d = decoder.decode_frame(_frame(enc, fmt))
            assert _placement(d.board) == _placement(true)
            assert d.board.turn == true.turn and d.black_to_move == (true.turn == chess.BLACK)
            assert d.board.clean_castling_rights() == true.clean_castling_rights()
            assert d.board.halfmove_clock == min(true.halfmove_clock, 255)
            if fmt in fr.CANONICAL_FORMATS or t > 0:
                assert (d.board.ep_square if d.board.has_legal_en_passant() else None) == (
                    true.ep_square if true.has_legal_en_passant() else None
                )
            assert d.transform == enc.transform
            # history: each block is the right earlier position (v2: a repeated one)
            for h, hb in enumerate(d.history[1:], start=1):
                if fmt in (5, 133):
                    assert d.repetitions[h]
                    assert _placement(hb) in [_placement(b) for b in boards[:t]]
                elif t - h >= 0:
                    assert _placement(hb) == _placement(boards[t - h])
                else:  # filled in from a non-standard start position
                    assert hb.board_fen().split("/")[0:8] is not None
            if fmt in (1, 2):
                expected = min(t + 1, 8) if root.board_fen() == chess.STARTING_BOARD_FEN else 8
                assert len(d.history) == expected
            checked += 1
    assert checked >= 1200


def test_history_truncation_rules():
    game = encoder.GameHistory()
    for uci in ["e2e4", "e7e5", "g1f3", "b8c6", "f3g1", "c6b8", "g1f3"]:
        game.push(chess.Move.from_uci(uci))
    # format 1 keeps the full history (8 positions)
    assert (
        sum(1 for h in range(8) if any(encoder.encode(game.snapshots, -1, 1).masks[13 * h : 13 * h + 12]))
        == 8
    )
    # canonical: stops at the rule50 reset (e7e5, a pawn move: the position after it)
    enc3 = encoder.encode(game.snapshots, -1, 3)
    filled = [h for h in range(8) if any(enc3.masks[13 * h : 13 * h + 12])]
    assert filled == [0, 1, 2, 3, 4, 5]
    # v2: the current position, then only earlier repetitions: the position after c6b8
    # (a repeat of the one after e7e5); the search stops at e7e5's rule50 reset
    enc5 = encoder.encode(game.snapshots, -1, 5)
    filled5 = [h for h in range(8) if any(enc5.masks[13 * h : 13 * h + 12])]
    assert filled5 == [0, 1] and enc5.masks[12] != 0 and enc5.masks[13 + 12] != 0
    assert enc5.masks[13:25] == enc3.masks[13 * 1 : 13 * 1 + 12]
    assert enc3.masks[12] != 0 and enc3.masks[13 + 12] != 0 and enc3.masks[13 * 4 + 12] == 0


def test_transform_choice_examples():
    # king on f4, no pawns, no castling: transposed (as in the lc0 fixture data)
    enc = encoder.encode_board(chess.Board("8/8/8/8/5K2/8/6q1/6kq w - - 0 74"), 3)
    assert enc.transform == 4 and enc.invariance_info == 4
    # king on the queen side with pawns: flipped only
    enc = encoder.encode_board(chess.Board("4k3/p7/8/8/8/8/8/2K5 w - - 0 1"), 3)
    assert enc.transform == 1
    # castling rights: never transformed
    enc = encoder.encode_board(chess.Board("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1"), 5)
    assert enc.transform == 0 and enc.castling == (1, 128, 0, 0)
    assert encoder.encode_board(chess.Board("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1"), 1).castling == (1, 1, 0, 0)
