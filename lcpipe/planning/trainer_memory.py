"""Device memory of a ``train.jax`` stage: its whole training state (parameters, batch
statistics, optimizer moments) from the shapes JAX derives for the model and the optimizer,
without allocating it, plus one batch of inputs and targets; and the averages the train.swa /
train.ema stages over its weight stream keep on the same device (weights and statistics)."""

from __future__ import annotations

from dataclasses import dataclass

from lcpipe.planning.loader_memory import BATCH_ROW_BYTES


@dataclass
class TrainerPlan:
    parameters: int
    state_bytes: dict[str, int]  # part of the state ("params", "opt_state", ...; an average's stage) -> bytes
    batch_bytes: int

    @property
    def total(self) -> int:
        return sum(self.state_bytes.values()) + self.batch_bytes


def _bytes(tree) -> int:
    import jax

    return sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(tree))


def plan_trainer(settings: dict, batch_size: int, averages: tuple[str, ...] = ()) -> TrainerPlan:
    """Shapes only (jax.eval_shape): nothing is initialised or compiled. ``averages``: the names
    of the stages averaging its weights, each holding a copy of the weights and statistics."""
    import jax
    import jax.numpy as jnp

    from lcpipe.train.checkpoints import plain_tree
    from lcpipe.train.trainer import Trainer

    trainer = Trainer(settings)

    def fresh(key):
        variables = trainer.model.init(key, jnp.zeros((2, 112, 8, 8), jnp.float32), train=False)
        return trainer._fresh_state(plain_tree(variables), key)

    state = jax.eval_shape(fresh, jax.random.PRNGKey(0))
    parts = {k: _bytes(v) for k, v in state.items()}
    for name in averages:
        parts[name] = parts["params"] + parts["batch_stats"]
    params = sum(int(x.size) for x in jax.tree.leaves(state["params"]))
    return TrainerPlan(params, parts, batch_size * BATCH_ROW_BYTES)
