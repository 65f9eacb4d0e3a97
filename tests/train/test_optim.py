"""Optimizers: rules for weight decay and freezing, clipping, lookahead."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lcpipe.train.optim import build_optimizer
from lcpipe.train.schedules import make_schedule

PARAMS = {
    "body": {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}},
    "head": {"kernel": jnp.ones((2,)), "ln": {"scale": jnp.ones(2)}},
}


def one_update(cfg, grads=None, params=PARAMS, lr=0.1, steps=1):
    tx = build_optimizer(cfg, make_schedule({"lr": lr}), params)
    state = tx.init(params)
    grads = grads if grads is not None else jax.tree.map(jnp.zeros_like, params)
    for _ in range(steps):
        upd, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, upd)
    return params


def test_weight_decay_rules_hit_the_right_params():
    cfg = {
        "name": "adamw",
        "weight_decay": 0.5,
        "rules": [
            {"pattern": "*bias", "weight_decay": 0.0},
            {"pattern": "head/*", "weight_decay": 0.1},
            {"pattern": "*scale", "weight_decay": 0.0},
        ],
    }
    p = one_update(cfg)  # zero gradients: only decay moves weights
    assert float(p["body"]["dense"]["kernel"][0, 0]) == pytest.approx(1 - 0.1 * 0.5)
    assert float(p["body"]["dense"]["bias"][0]) == pytest.approx(1.0)
    assert float(p["head"]["kernel"][0]) == pytest.approx(1 - 0.1 * 0.1)
    assert float(p["head"]["ln"]["scale"][0]) == pytest.approx(1 - 0.1 * 0.1)  # first matching rule wins


@pytest.mark.parametrize("name", ["nadamw", "adamw", "nadam", "adam", "sgd", "lamb"])
def test_freezing_really_freezes(name):
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    cfg = {
        "name": name,
        "weight_decay": 0.1,
        "rules": [{"pattern": "body/*", "freeze": True}],
        "lookahead_steps": 2,
    }
    p = one_update(cfg, grads, steps=3)
    assert np.all(np.asarray(p["body"]["dense"]["kernel"]) == 1.0)
    assert np.all(np.asarray(p["body"]["dense"]["bias"]) == 1.0)
    assert np.all(np.asarray(p["head"]["kernel"]) < 1.0)


def test_global_norm_clipping_caps_the_step():
    grads = jax.tree.map(lambda x: 100.0 * jnp.ones_like(x), PARAMS)
    p = one_update({"name": "sgd", "momentum": 0.0, "clip_norm": 1.0}, grads, lr=1.0)
    delta = jax.tree.map(lambda a, b: a - b, p, PARAMS)
    assert float(optax.tree.norm(delta)) == pytest.approx(1.0, rel=1e-5)


def test_adaptive_clipping_limits_update_relative_to_weights():
    grads = jax.tree.map(lambda x: 100.0 * jnp.ones_like(x), PARAMS)
    p = one_update({"name": "sgd", "momentum": 0.0, "adaptive_clip": 0.01}, grads, lr=1.0)
    delta = np.abs(np.asarray(p["body"]["dense"]["kernel"]) - 1.0)
    assert float(delta.max()) <= 0.0101  # unit-wise: at most 1% of the unit's norm


def test_lookahead_syncs_slow_weights():
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    fast = one_update({"name": "sgd", "momentum": 0.0}, grads, lr=0.1, steps=2)
    la = one_update(
        {"name": "sgd", "momentum": 0.0, "lookahead_steps": 2, "lookahead_alpha": 0.5}, grads, lr=0.1, steps=2
    )
    # after k=2 steps: slow = 1 + 0.5 * (fast - 1)
    np.testing.assert_allclose(
        np.asarray(la["head"]["kernel"]), 1 + 0.5 * (np.asarray(fast["head"]["kernel"]) - 1), rtol=1e-6
    )


def test_lr_scale_rule():
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    p = one_update(
        {"name": "sgd", "momentum": 0.0, "rules": [{"pattern": "head/*", "lr_scale": 0.5}]}, grads, lr=0.1
    )
    assert float(p["head"]["kernel"][0]) == pytest.approx(0.95)
    assert float(p["body"]["dense"]["kernel"][0, 0]) == pytest.approx(0.9)


def test_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="optimizer.name"):
        build_optimizer({"name": "adagrad"}, make_schedule({}), PARAMS)
