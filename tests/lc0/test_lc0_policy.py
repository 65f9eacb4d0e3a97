"""The 1858-move index, transforms and the policy-head gather maps."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from lcpipe.lc0 import encoder, policy


def test_anchors_and_size():
    assert len(policy.MOVES) == 1858 == len(set(policy.MOVES))
    for move, idx in {"a1b1": 0, "g1f3": 159, "d2d4": 293, "e2e4": 322, "h7h8b": 1857}.items():
        assert policy.MOVE_INDEX[move] == idx
    assert policy.MOVES[1792:1795] == ["a7a8q", "a7a8r", "a7a8b"]
    assert policy.MOVE_INDEX["e1h1"] < 1792  # castling is king takes rook


def test_black_moves_are_mirrored_and_castling_is_king_takes_rook():
    board = chess.Board()
    board.push_uci("e2e4")
    assert policy.move_index(board, chess.Move.from_uci("g8f6")) == 159
    b = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1")
    assert policy.move_index(b, b.parse_uci("e8g8")) == policy.MOVE_INDEX["e1h1"]
    assert policy.move_index(b, b.parse_uci("e8c8")) == policy.MOVE_INDEX["e1a1"]
    assert policy.index_to_move(b, policy.MOVE_INDEX["e1h1"]) == b.parse_uci("e8g8")


def test_promotions():
    b = chess.Board("8/P6k/8/8/8/8/8/K7 w - - 0 1")
    idx = {m.uci(): i for m, i in policy.legal_indices(b).items()}
    assert idx["a7a8q"] == 1792 and idx["a7a8r"] == 1793 and idx["a7a8b"] == 1794
    assert idx["a7a8n"] == policy.MOVE_INDEX["a7a8"]
    assert policy.index_to_move(b, policy.MOVE_INDEX["a7a8"]) == chess.Move.from_uci("a7a8n")


@pytest.mark.parametrize("transform", range(8))
def test_transforms_are_bijective(transform):
    for sq in range(64):
        assert policy.untransform_square(policy.transform_square(sq, transform), transform) == sq
    row = policy.TRANSFORM_INDEX[transform]
    valid = row[row >= 0]
    assert len(set(valid.tolist())) == len(valid)


def test_move_transform_follows_lc0_data():
    # transpose: lc0 reflects the board in a8-h1 but indexes moves turned by 180 degrees
    assert policy.transform_square(chess.F4, policy.TRANSPOSE) == chess.E3
    assert policy.move_transform(policy.TRANSPOSE | policy.FLIP) == policy.FLIP | policy.MIRROR
    assert policy.move_transform(policy.MIRROR) == policy.MIRROR


def test_every_legal_move_has_a_distinct_index_in_random_games():
    """Random games (with their canonical transform): indices distinct, fast == reference."""
    positions = 0
    rng = np.random.default_rng(0)
    game = encoder.GameHistory()
    for _ in range(600):
        board = game.board
        moves = list(board.legal_moves)
        if not moves or board.is_insufficient_material() or len(board.move_stack) > 150:
            game = encoder.GameHistory()
            continue
        canonical = encoder.encode(game.snapshots, -1, 3).transform
        for transform in {0, canonical}:
            fast = policy.legal_move_indices(board, moves, transform)
            slow = policy.legal_indices(board, transform)
            assert len(set(fast.tolist())) == len(moves)
            assert fast.tolist() == [slow[m] for m in moves]
            if transform == 0:
                for m, i in zip(moves, fast):
                    assert policy.index_to_move(board, int(i)) == m
        positions += 1
        captures = [m for m in moves if board.is_capture(m)]
        pool = captures if captures and rng.random() < 0.7 else moves
        game.push(pool[int(rng.integers(len(pool)))])
    assert positions > 550


def test_attention_gather():
    g = policy.ATTENTION_GATHER
    assert g.shape == (1858,) and len(set(g.tolist())) == 1858 and g.max() < 4288
    assert g[policy.MOVE_INDEX["e2e4"]] == chess.E2 * 64 + chess.E4
    assert g[policy.MOVE_INDEX["a7a8"]] == chess.A7 * 64 + chess.A8  # knight promotion
    assert g[policy.MOVE_INDEX["a7a8q"]] == 4096 + 0
    assert g[policy.MOVE_INDEX["b7c8r"]] == 4096 + 1 * 24 + 2 * 3 + 1
    assert g[policy.MOVE_INDEX["h7h8b"]] == 4096 + 7 * 24 + 7 * 3 + 2
    logits = np.arange(4288, dtype=np.float32)
    assert np.array_equal(logits[g], g.astype(np.float32))
    m = policy.scatter_matrix(g, 4288)
    assert np.array_equal(logits @ m, logits[g])


def test_conv_gather():
    g = policy.CONV_GATHER
    assert g.shape == (1858,) and len(set(g.tolist())) == 1858 and g.max() < 5120
    # plane * 64 + from-square; N distance 2 is plane 1, knight (+1,+2) plane 56
    assert g[policy.MOVE_INDEX["e2e4"]] == 1 * 64 + chess.E2
    assert g[policy.MOVE_INDEX["g1f3"]] == (56 + 7) * 64 + chess.G1  # (-1,+2): NW knight
    assert g[policy.MOVE_INDEX["b1c3"]] == 56 * 64 + chess.B1
    assert g[policy.MOVE_INDEX["a1h8"]] == (7 + 6) * 64 + chess.A1  # NE distance 7
    assert g[policy.MOVE_INDEX["a7a8q"]] == (64 + 1 * 3 + 2) * 64 + chess.A7
    assert g[policy.MOVE_INDEX["b7a8r"]] == (64 + 0) * 64 + chess.B7
    assert g[policy.MOVE_INDEX["b7c8b"]] == (64 + 2 * 3 + 1) * 64 + chess.B7
    assert g[policy.MOVE_INDEX["a7a8"]] == 0 * 64 + chess.A7  # knight promotion: plain N move
    assert (g // 64 < 73).all()
