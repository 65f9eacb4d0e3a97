"""Helpers of the self-play tests: tiny network snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))

from helpers import TINY_RESNET
from helpers import TINY_TRANSFORMER as TRAIN_TINY_TRANSFORMER

__all__ = ["TINY_RESNET", "TINY_TRANSFORMER", "make_snapshot"]

# The trainer tests' tiny models; self-play's transformer adds a small attention policy.
TINY_TRANSFORMER = dict(TRAIN_TINY_TRANSFORMER, policy_d_model=8, policy_embedding=8)


def make_snapshot(model: dict, seed: int = 0, step: int = 1):
    """A NetworkSnapshot of ``model`` with random parameters (see lcpipe.train.random_snapshot)."""
    from lcpipe.train.random_snapshot import random_snapshot

    return random_snapshot(model, seed=seed, step=step)
