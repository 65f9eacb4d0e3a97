"""Tiny networks of known strength for the arena tests, built by hand (no training).

``material_snapshot``: a one-block ReLU resnet whose value head counts
material (P=1, N=B=3, R=5, Q=9) for the side to move and whose policy is
uniform: with a few visits it takes hanging pieces and avoids losing its
own. ``uniform_snapshot``: the same network with all weights zero (uniform
policy, value 0). The first should beat the second clearly.
"""

from __future__ import annotations

import numpy as np

MODEL = dict(
    body="resnet",
    filters=8,
    blocks=1,
    se_ratio=0,
    activation="relu",
    value_channels=4,
    value_hidden=8,
    moves_left_channels=2,
    moves_left_hidden=8,
    policy_type="conv",
    policy_channels=8,
)
PIECE_VALUES = (1.0, 3.0, 3.0, 5.0, 9.0)  # our P N B R Q planes are 0-4, theirs 6-10


def _zeros(step: int):
    import jax

    from lcpipe.train.random_snapshot import random_snapshot

    snap = random_snapshot(MODEL, seed=0, step=step)

    def fill(path, leaf):
        name = str(getattr(path[-1], "key", path[-1]))
        return np.ones_like(leaf) if name in ("scale", "var") else np.zeros_like(leaf)

    snap.params = jax.tree_util.tree_map_with_path(fill, snap.params)
    return snap


def uniform_snapshot(step: int = 1):
    return _zeros(step)


def material_snapshot(step: int = 2, sharpness: float = 0.7):
    snap = _zeros(step)
    p = snap.params["params"]
    kernel = p["body"]["input"]["conv"]["kernel"]  # [3, 3, 112, filters]: centre tap only
    for plane, value in enumerate(PIECE_VALUES):
        kernel[1, 1, plane, 0] = value  # filter 0: our material on each square
        kernel[1, 1, 6 + plane, 1] = value  # filter 1: theirs
    emb = p["value_winner"]["embedding"]["conv"]["kernel"]  # [1, 1, filters, 4]
    emb[0, 0, 0, 0], emb[0, 0, 1, 0] = 1.0, -1.0  # channel 0: ours - theirs (relu: where we lead)
    emb[0, 0, 1, 1], emb[0, 0, 0, 1] = 1.0, -1.0  # channel 1: theirs - ours
    d1 = p["value_winner"]["dense1"]["kernel"]  # [4 channels * 64 squares (channel-major), hidden]
    d1[0:64, 0], d1[64:128, 0] = 1.0, -1.0  # hidden 0: relu(our material - theirs)
    d1[0:64, 1], d1[64:128, 1] = -1.0, 1.0  # hidden 1: relu(their material - ours)
    d2 = p["value_winner"]["dense2"]["kernel"]  # [hidden, 3] -> win, draw, loss logits
    d2[0, 0] = sharpness
    d2[1, 2] = sharpness
    return snap


def write_net(snapshot, path):
    from lcpipe.nets.export import export_snapshot

    export_snapshot(snapshot, path)
    return path
