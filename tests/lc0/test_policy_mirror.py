"""The left-right mirror of the 1858-move policy index."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from lcpipe.lc0.policy import FILE_MIRROR_INDEX, MOVE_INDEX, MOVES, NUM_MOVES, legal_move_indices


def test_it_is_a_permutation_and_its_own_inverse():
    assert sorted(FILE_MIRROR_INDEX.tolist()) == list(range(NUM_MOVES))
    np.testing.assert_array_equal(FILE_MIRROR_INDEX[FILE_MIRROR_INDEX], np.arange(NUM_MOVES))
    assert np.any(FILE_MIRROR_INDEX != np.arange(NUM_MOVES))


@pytest.mark.parametrize(
    "move, mirrored",
    [
        ("e2e4", "d2d4"),
        ("g1f3", "b1c3"),
        ("a1h8", "h1a8"),
        ("h7h8b", "a7a8b"),
        ("b7c8q", "g7f8q"),
        ("e1h1", "d1a1"),
    ],
)
def test_moves_map_to_their_mirror_images(move, mirrored):
    assert MOVES[FILE_MIRROR_INDEX[MOVE_INDEX[move]]] == mirrored
    assert MOVES[FILE_MIRROR_INDEX[MOVE_INDEX[mirrored]]] == move


def test_legal_moves_of_a_mirrored_position_are_the_mirrored_indices():
    board = chess.Board("4k3/1p3pp1/2n5/3P4/5B2/8/PP3PPP/3R2K1 b - - 0 1")  # black to move: the view flips
    mirrored = board.transform(chess.flip_horizontal)
    original = legal_move_indices(board)
    np.testing.assert_array_equal(np.sort(FILE_MIRROR_INDEX[original]), np.sort(legal_move_indices(mirrored)))
