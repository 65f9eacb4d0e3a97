"""A NetworkSnapshot with random parameters, without compiling flax's init.

The variable tree comes from ``build_model(cfg).init`` traced with
``jax.eval_shape`` (names and shapes exactly as the trainer's); values are
drawn with numpy. Compiling the initialisers can take tens of seconds on a
small CPU, too long for tests, benchmarks and self-play bootstraps.
"""

from __future__ import annotations

import numpy as np

from lcpipe.types import NetworkSnapshot


def random_snapshot(model: dict, seed: int = 0, step: int = 0) -> NetworkSnapshot:
    import jax

    from lcpipe.model import build_model, normalize

    cfg = normalize(model)
    module = build_model(cfg)
    shapes = jax.eval_shape(
        lambda k, x: module.init(k, x, train=False),
        jax.random.PRNGKey(0),
        jax.ShapeDtypeStruct((1, 112, 8, 8), np.float32),
    )
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
