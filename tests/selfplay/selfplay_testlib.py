"""Helpers of the self-play tests: tiny network snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

TINY_TRANSFORMER = dict(body="transformer", d_model=16, heads=2, dff=16, encoder_layers=1, embedding_dense=4,
                        embedding_dff=16, smolgen_hidden_channels=2, smolgen_hidden_size=8, smolgen_gen_size=4,
                        value_channels=4, value_hidden=8, moves_left_channels=2, moves_left_hidden=8,
                        policy_d_model=8, policy_embedding=8)
TINY_RESNET = dict(body="resnet", filters=8, blocks=1, se_ratio=2, value_channels=4, value_hidden=8,
                   moves_left_channels=2, moves_left_hidden=8, policy_type="conv")


def make_snapshot(model: dict, seed: int = 0, step: int = 1):
    """A NetworkSnapshot of ``model`` with random parameters.

    The variable tree comes from ``build_model(cfg).init`` traced with
    ``jax.eval_shape`` (names and shapes exactly as the trainer's); the values
    are drawn with numpy: compiling flax's initialisers takes ~50 s on a busy
    2-core machine, far beyond the test budget.
    """
    import jax

    from lcpipe.train.models import build_model, normalize
    from lcpipe.types import NetworkSnapshot

    cfg = normalize(model)
    module = build_model(cfg)
    shapes = jax.eval_shape(lambda k, x: module.init(k, x, train=False), jax.random.PRNGKey(0),
                            jax.ShapeDtypeStruct((1, 112, 8, 8), np.float32))
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = str(getattr(path[-1], "key", path[-1]))
        if name in ("scale", "var"):
            return np.ones(leaf.shape, np.float32)
        if name in ("bias", "mean"):
            return np.zeros(leaf.shape, np.float32)
        fan_in = int(np.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else 1
        return (rng.standard_normal(leaf.shape) / np.sqrt(fan_in)).astype(np.float32)

    params = jax.tree_util.tree_map_with_path(fill, dict(shapes))
    return NetworkSnapshot(step=step, model=cfg, params=params, kind="raw", input_format=1)
