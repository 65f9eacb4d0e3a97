"""Training-time symmetry augmentation: the left-right mirror (files a<->h).

Without castling rights, chess is symmetric under swapping the a- and
h-files, so a mirrored position with a mirrored policy is as true a training
example as the original. Only the non-canonical input formats (1 and 2)
qualify: the canonical ones (3 and above) have already turned each position
into its canonical orientation, and a mirrored one is an input the engine
never feeds. Every plane of those formats survives the mirror unchanged in
meaning (LC0_FORMATS.md section 3): the piece and history planes are boards,
and the aux planes without castling rights are all-zero or uniform.
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.policy import FILE_MIRROR_INDEX

MIRROR_FORMATS = (1, 2)
CASTLING_PLANES = slice(104, 108)  # format 1: four rights planes; format 2: rook bitboards in 104-105


def mirror_eligible(inputs: np.ndarray) -> np.ndarray:
    """bool[B]: rows of planes f32[B,112,8,8] in which nobody may castle."""
    return np.logical_not(inputs[:, CASTLING_PLANES].reshape(len(inputs), -1).any(axis=1))


def mirror_rows(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The trainer's batch arrays with ``rows`` (bool[B]) mirrored: planes, policy, move indices."""
    out = dict(arrays)
    inputs = arrays["inputs"].copy()
    inputs[rows] = inputs[rows][..., ::-1]  # the last axis is the file
    out["inputs"] = inputs
    probs = arrays["probabilities"].copy()
    probs[rows] = probs[rows][:, FILE_MIRROR_INDEX]  # mirror is an involution: new[j] = old[mirror(j)]
    out["probabilities"] = probs
    for key in ("opponent_idx", "next_idx"):
        idx = arrays[key].copy()
        known = rows & (idx >= 0)
        idx[known] = FILE_MIRROR_INDEX[idx[known]]
        out[key] = idx
    return out


class MirrorAugment:
    """Mirrors a random half of each batch's eligible rows. The choice is a function of the seed and
    the training step, so a resumed run mirrors the rows an uninterrupted one would have."""

    def __init__(self, input_format: int, seed: int = 0):
        if input_format not in MIRROR_FORMATS:
            raise ValueError(
                f"mirror augmentation needs input format 1 or 2, not {input_format}: the canonical "
                "formats already choose each position's orientation"
            )
        self.seed = seed

    def choose(self, inputs: np.ndarray, step: int) -> np.ndarray:
        """bool[B]: the rows to mirror at training step ``step``, each eligible row with probability 1/2."""
        draw = np.random.default_rng([self.seed, step]).random(len(inputs))
        return mirror_eligible(inputs) & (draw < 0.5)

    def __call__(self, arrays: dict[str, np.ndarray], step: int) -> dict[str, np.ndarray]:
        chosen = self.choose(arrays["inputs"], step)
        return mirror_rows(arrays, chosen) if chosen.any() else arrays
