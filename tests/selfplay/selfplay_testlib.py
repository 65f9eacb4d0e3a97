"""Helpers of the self-play tests: tiny network snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

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
    policy_d_model=8,
    policy_embedding=8,
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


def make_snapshot(model: dict, seed: int = 0, step: int = 1):
    """A NetworkSnapshot of ``model`` with random parameters (see lcpipe.train.random_snapshot)."""
    from lcpipe.train.random_snapshot import random_snapshot

    return random_snapshot(model, seed=seed, step=step)
