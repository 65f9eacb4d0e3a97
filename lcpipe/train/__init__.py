"""JAX trainer for lc0 networks: models, losses, optimizers and the train.jax stage.

Importing this package is cheap; the heavy modules (jax, flax, optax, orbax)
are imported by the submodules that need them.
"""
