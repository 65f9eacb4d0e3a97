"""Mirror augmentation on real lc0 data (input format 1): planes, policy and move indices."""

from __future__ import annotations

import chess
import numpy as np
import pytest
from helpers import TINY_RESNET

from lcpipe.lc0.chunks import iter_games
from lcpipe.lc0.decoder import decode_frame
from lcpipe.lc0.policy import index_to_move, legal_move_indices
from lcpipe.lc0.tensors import frames_to_batch
from lcpipe.train.augment import MirrorAugment, mirror_rows
from lcpipe.train.settings import normalize_settings
from lcpipe.train.trainer import Trainer, batch_arrays


@pytest.fixture(scope="module")
def frames(lc0_fixtures):
    games = iter_games(lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar")
    return np.concatenate([g for _, g in (next(games) for _ in range(6))])


def _arrays(frames):
    arrays = batch_arrays(frames_to_batch(frames))
    # V6 frames carry no opponent / next moves: use the played and best moves, real indices
    arrays["opponent_idx"] = frames["played_idx"].astype(np.int32)
    arrays["next_idx"] = frames["best_idx"].astype(np.int32)
    return arrays


def _as_frame(frame, planes):
    """The frame with its 104 board planes replaced by ``planes`` f32[104,8,8]."""
    out = frame.copy()
    packed = np.packbits(planes.astype(np.uint8).reshape(104, 64), axis=-1)  # MSB-first, as stored
    out["planes"] = packed.view(np.uint64).reshape(104)
    return out


def _mirror(board):
    """A board (or history BaseBoard) mirrored left-right."""
    return board.transform(chess.flip_horizontal)


def test_mirrored_rows_decode_to_the_mirrored_boards_with_the_mirrored_policy(frames):
    rows = np.array([decode_frame(f).board.castling_rights == 0 for f in frames])
    assert rows.sum() > 100
    arrays = _arrays(frames)
    out = mirror_rows(arrays, rows)
    for i in np.flatnonzero(rows)[::5]:
        before = decode_frame(frames[i])
        after = decode_frame(_as_frame(frames[i], out["inputs"][i, :104]))
        assert after.board.fen() == _mirror(before.board).fen()
        assert [str(b) for b in after.history] == [str(_mirror(b)) for b in before.history]
        # aux planes (side to move, rule50, ...) are the ones the mirrored frame gives
        again = frames_to_batch(_as_frame(frames[i], out["inputs"][i, :104])[None])
        np.testing.assert_array_equal(again.inputs[0], out["inputs"][i])
        # each legal move's probability moved to its mirror image's index
        moves = list(before.board.legal_moves)
        old = legal_move_indices(before.board, moves)
        new = legal_move_indices(after.board, [_mirror_move(m) for m in moves])
        np.testing.assert_array_equal(out["probabilities"][i, new], arrays["probabilities"][i, old])
        assert (out["probabilities"][i] >= 0).sum() == len(moves)
        for key in ("opponent_idx", "next_idx"):
            played = index_to_move(before.board, int(arrays[key][i]))
            assert index_to_move(after.board, int(out[key][i])) == _mirror_move(played)
    untouched = ~rows
    for key in ("inputs", "probabilities", "opponent_idx", "next_idx"):
        np.testing.assert_array_equal(out[key][untouched], arrays[key][untouched])


def _mirror_move(move):
    return chess.Move(move.from_square ^ 7, move.to_square ^ 7, move.promotion)  # file f -> 7 - f


def test_half_the_rows_without_castling_rights_and_none_with_them_are_mirrored(frames):
    castling = np.array([decode_frame(f).board.castling_rights != 0 for f in frames])
    assert castling.sum() > 50 and (~castling).sum() > 100
    inputs = _arrays(frames)["inputs"]
    augment = MirrorAugment(input_format=1, seed=3)
    chosen = np.stack([augment.choose(inputs, step) for step in range(20)])
    assert not chosen[:, castling].any()
    share = chosen[:, ~castling].mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / chosen[:, ~castling].size)
    assert not np.array_equal(chosen[0], chosen[1])  # a fresh draw per step
    # a function of (seed, step): a resumed run's fresh augmenter repeats the choices of a step
    np.testing.assert_array_equal(MirrorAugment(input_format=1, seed=3).choose(inputs, 7), chosen[7])


def test_augmenting_a_batch_mirrors_exactly_the_chosen_rows(frames):
    arrays = _arrays(frames)
    got = MirrorAugment(1, seed=7)(arrays, 4)
    chosen = MirrorAugment(1, seed=7).choose(arrays["inputs"], 4)
    np.testing.assert_array_equal(got["inputs"], mirror_rows(arrays, chosen)["inputs"])
    np.testing.assert_array_equal(got["probabilities"], mirror_rows(arrays, chosen)["probabilities"])


@pytest.mark.parametrize("input_format", [3, 5])
def test_canonical_formats_are_refused(input_format):
    with pytest.raises(ValueError, match="input format 1 or 2"):
        MirrorAugment(input_format)
    with pytest.raises(ValueError, match="augment_mirror needs input format 1 or 2"):
        normalize_settings({"augment_mirror": True, "input_format": input_format})
    assert normalize_settings({"input_format": input_format})["augment_mirror"] is False


def test_the_trainer_mirrors_training_batches_only(frames):
    batch = frames_to_batch(frames[:64])
    settings = {
        "model": TINY_RESNET,
        "augment_mirror": True,
        "seed": 11,
    }
    trainer = Trainer(settings)
    trainer.init()
    trainer.step(batch)
    trained_on = np.asarray(trainer.last_batch["inputs"])
    arrays = batch_arrays(batch)
    chosen = MirrorAugment(1, seed=11).choose(arrays["inputs"], 0)  # the step trained
    assert chosen.any()
    np.testing.assert_array_equal(trained_on, mirror_rows(arrays, chosen)["inputs"])
    evaluated = np.asarray(trainer.device_batch(batch)["inputs"])  # the path evaluate() takes
    np.testing.assert_array_equal(evaluated, arrays["inputs"])
    assert Trainer({"model": TINY_RESNET}).augment is None  # off by default
