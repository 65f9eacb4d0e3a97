"""Small synthetic batches with the shapes of LC0_FORMATS.md section 5.

The targets are a deterministic function of the inputs (so a model can learn
them): a few legal moves per position, the policy peaked on one of them.
"""

from __future__ import annotations

import numpy as np

from lcpipe.types import Batch

TINY_TRANSFORMER = dict(
    body="transformer",
    d_model=16,
    heads=2,
    dff=16,
    encoder_layers=1,
    embedding_dense=4,
    embedding_dff=16,
    smolgen_hidden_channels=2,
    smolgen_hidden_size=8,
    smolgen_gen_size=4,
    value_channels=4,
    value_hidden=8,
    moves_left_channels=2,
    moves_left_hidden=8,
)
TINY_RESNET = dict(
    body="resnet",
    filters=8,
    blocks=1,
    se_ratio=2,
    value_channels=4,
    value_hidden=8,
    moves_left_channels=2,
    moves_left_hidden=8,
    policy_type="conv",
)


def make_batch(n: int, seed: int = 0, legal: int = 8, unknown: bool = False) -> Batch:
    rng = np.random.default_rng(seed)
    planes = (rng.random((n, 112, 8, 8)) < 0.1).astype(np.float32)
    planes[:, 111] = 1.0
    probs = np.full((n, 1858), -1.0, np.float32)
    values = np.zeros((n, 6, 3), np.float32)
    opp = np.empty(n, np.int32)
    nxt = np.empty(n, np.int32)
    for i in range(n):
        key = int(planes[i, :12].sum()) % 97  # a learnable function of the inputs
        moves = (np.arange(legal) * 211 + key * 13) % 1858
        probs[i, moves] = 0.0
        probs[i, moves[0]] = 0.7
        probs[i, moves[1:]] = 0.3 / (legal - 1)
        q = 1.0 if key % 3 == 0 else (-1.0 if key % 3 == 1 else 0.0)
        d = 1.0 if q == 0 else 0.0
        values[i, :, 0] = q
        values[i, :, 1] = d
        values[i, :, 2] = 10 + key % 40
        values[i, 5, 2] = np.nan
        opp[i] = moves[2] if (i % 4 or not unknown) else -1
        nxt[i] = moves[3] if (i % 5 or not unknown) else -1
    return Batch(inputs=planes, probabilities=probs, values=values, opponent_idx=opp, next_idx=nxt)
