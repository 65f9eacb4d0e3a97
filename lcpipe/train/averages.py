"""Weight averages kept on the device: stochastic weight averaging (SWA), an exponential moving
average (EMA), and the batch-norm statistics of averaged weights.

An average is a pytree state {"average": weights, "count": int32} updated by one compiled
function per kind; nothing is copied to the host until a network is emitted.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lcpipe.model import build_model
from lcpipe.train.checkpoints import plain_tree


def start(params) -> dict:
    """An average that starts at ``params`` with no sample taken (the first sample replaces them).
    The count lives where the weights do (replicated over the trainer's devices, in every
    process of a multi-process run): orbax saves only such global arrays across processes."""
    sharding = jax.tree.leaves(params)[0].sharding
    count = jax.make_array_from_callback((), sharding, lambda _: np.zeros((), np.int32))
    return {"average": params, "count": count}


def swa_update(max_count: int):
    """The SWA step: the running mean of the samples, the count capped at max_count so later
    weights keep a weight of 1/max_count."""

    def update(state: dict, params) -> dict:
        n = jnp.minimum(state["count"] + 1, max_count)
        inv = 1.0 / n.astype(jnp.float32)
        average = jax.tree.map(lambda a, p: a + (p - a) * inv, state["average"], params)
        return {"average": average, "count": n}

    return jax.jit(update)


def ema_update(decay: float):
    """The EMA step: average <- decay * average + (1 - decay) * weights."""

    def update(state: dict, params) -> dict:
        average = jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, state["average"], params)
        return {"average": average, "count": state["count"] + 1}

    return jax.jit(update)


class BatchNormStatistics:
    """Batch-norm statistics of given weights: each layer's mean and variance over a few device
    batches, run in training mode (the raw model's running statistics belong to other weights)."""

    def __init__(self, model_config: dict, precision: str):
        # Momentum 0 and no renormalisation: one training-mode pass leaves exactly that batch's
        # statistics in the running ones.
        model = build_model(dict(model_config, bn_momentum=0.0, batch_renorm=False), precision)

        def one_batch(params, stats, inputs):
            _, updated = model.apply(
                {"params": params, "batch_stats": stats},
                inputs,
                train=True,
                mutable=["batch_stats"],
                rngs={"dropout": jax.random.PRNGKey(0)},
            )
            return updated["batch_stats"]

        self._one_batch = jax.jit(one_batch)

    def __call__(self, params, base_stats, batches: list[dict]) -> Any:
        """The mean of the per-batch statistics; ``base_stats`` gives the tree (its values unused)."""
        total = None
        for batch in batches:
            got = self._one_batch(params, base_stats, batch["inputs"])
            total = got if total is None else jax.tree.map(jnp.add, total, got)
        return jax.tree.map(lambda t: t / len(batches), plain_tree(total))
