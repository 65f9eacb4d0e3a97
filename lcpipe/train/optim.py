"""Optimizers built with optax from the ``optimizer:`` settings.

Chain: [adaptive clip] -> [global-norm clip] -> base (Adam / NAdam moments,
SGD momentum) -> decoupled weight decay per parameter -> [LAMB trust ratio]
-> -lr(step) * lr_scale per parameter (0 for frozen ones) -> [Lookahead].
Per-parameter settings (weight_decay, freeze, lr_scale) come from ordered
glob rules over parameter paths (lcpipe.train.rules).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lcpipe.train.rules import tree_of
from lcpipe.train.settings import normalize_optimizer


def _per_leaf(fn_tree_builder):
    """A stateless transformation whose per-leaf factors depend on params' tree."""

    def init(params):
        return optax.EmptyState()

    def update(updates, state, params=None):
        return fn_tree_builder(updates, params), state

    return optax.GradientTransformation(init, update)


def decoupled_weight_decay(wd_tree):
    return _per_leaf(lambda u, p: jax.tree.map(lambda ui, pi, wd: ui + wd * pi if wd else ui, u, p, wd_tree))


def scale_by_lr(schedule, scale_tree):
    """-lr(count) * per-leaf scale; counts its own steps (checkpointed in the opt state)."""

    def init(params):
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        lr = schedule(state.count)
        out = jax.tree.map(lambda u, s: (-lr * s) * u if s else jnp.zeros_like(u), updates, scale_tree)
        return out, optax.ScaleByScheduleState(count=state.count + 1)

    return optax.GradientTransformation(init, update)


class LookaheadState(NamedTuple):
    inner: Any
    slow: Any
    count: jnp.ndarray  # type: ignore[assignment]  # shadows tuple.count; the name is in saved checkpoints


def lookahead(inner: optax.GradientTransformation, k: int, alpha: float) -> optax.GradientTransformation:
    """Lookahead (Zhang 2019): every k steps slow += alpha*(fast - slow), fast = slow."""

    def init(params):
        return LookaheadState(inner.init(params), jax.tree.map(jnp.asarray, params), jnp.zeros([], jnp.int32))

    def update(updates, state, params):
        u, inner_state = inner.update(updates, state.inner, params)
        count = state.count + 1
        sync = count % k == 0
        fast = jax.tree.map(lambda p, d: p + d, params, u)
        slow = jax.tree.map(lambda s, f: jnp.where(sync, s + alpha * (f - s), s), state.slow, fast)
        out = jax.tree.map(lambda s, p, d: jnp.where(sync, s - p, d), slow, params, u)
        return out, LookaheadState(inner_state, slow, count)

    return optax.GradientTransformation(init, update)


def build_optimizer(cfg: dict, schedule, params) -> optax.GradientTransformation:
    """The optax transformation for ``params`` (its tree decides the per-leaf rules)."""
    cfg = normalize_optimizer(cfg)
    rules = cfg["rules"]
    wd = tree_of(params, rules, "weight_decay", cfg["weight_decay"])
    frozen = tree_of(params, rules, "freeze", False)
    lr_scale = tree_of(params, rules, "lr_scale", 1.0)
    scale = jax.tree.map(lambda f, s: 0.0 if f else float(s), frozen, lr_scale)
    parts = []
    if cfg["adaptive_clip"]:
        parts.append(optax.adaptive_grad_clip(cfg["adaptive_clip"]))
    if cfg["clip_norm"]:
        parts.append(optax.clip_by_global_norm(cfg["clip_norm"]))
    name = cfg["name"]
    if name == "sgd":
        parts.append(optax.trace(decay=cfg["momentum"], nesterov=cfg["nesterov"]))
    else:
        parts.append(
            optax.scale_by_adam(
                b1=cfg["beta1"], b2=cfg["beta2"], eps=cfg["epsilon"], nesterov=name in ("nadam", "nadamw")
            )
        )
    if any(jax.tree.leaves(wd)):
        parts.append(decoupled_weight_decay(wd))
    if name == "lamb":
        parts.append(optax.scale_by_trust_ratio())
    parts.append(scale_by_lr(schedule, scale))
    tx = optax.chain(*parts)
    if cfg["lookahead_steps"]:
        tx = lookahead(tx, int(cfg["lookahead_steps"]), float(cfg["lookahead_alpha"]))
    return tx
