"""Stochastic depth (Huang et al. 2016): in training, each row of a batch skips a
block's residual branches with some probability, and kept branches are scaled
by 1 / keep so the expected output is that of the full network; at inference
every branch runs unscaled. Rates rise linearly with depth, so early blocks,
whose features every later block builds on, are dropped least.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def block_drop_rate(max_rate: float, index: int, blocks: int) -> float:
    """Drop rate of block ``index`` (0-based) of ``blocks``: max_rate * (index + 1) / blocks."""
    return float(max_rate) * (index + 1) / blocks


class DropPath(nn.Module):
    """Per-row branch scales for one block: 0 (skipped) or 1 / (1 - rate) (kept).

    Returns None when nothing is dropped (inference, or rate 0). One draw
    serves all of a block's branches (``scale_rows``), from the "dropout" rng.
    No parameters: the parameter tree is the same with any rate. The keep
    mask is sown as ``intermediates/.../keep`` for inspection.
    """

    rate: float

    @nn.compact
    def __call__(self, rows: int, train: bool) -> jax.Array | None:
        if not train or self.rate == 0.0:
            return None
        keep_prob = 1.0 - self.rate
        keep = jax.random.bernoulli(self.make_rng("dropout"), keep_prob, (rows,))
        self.sow("intermediates", "keep", keep)
        return keep.astype(jnp.float32) / keep_prob


def scale_rows(branch: jax.Array, scale: jax.Array | None) -> jax.Array:
    """branch [B, ...] times the per-row scale from ``DropPath`` (unchanged when None)."""
    if scale is None:
        return branch
    return branch * scale.reshape((-1,) + (1,) * (branch.ndim - 1)).astype(branch.dtype)
