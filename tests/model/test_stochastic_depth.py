"""Stochastic depth and residual dropout, on the real bodies: identity at inference,
random in training, blocks skipped at their linearly rising rates, nothing changed at rate 0."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))  # the trainer tests' tiny models

from helpers import TINY_RESNET, TINY_TRANSFORMER, make_batch

from lcpipe.model import build_model
from lcpipe.model.layers import LayerNorm
from lcpipe.model.resnet import ResidualBlock
from lcpipe.model.transformer import EncoderLayer

BODIES = {
    "resnet": dict(TINY_RESNET, blocks=4),
    "transformer": dict(TINY_TRANSFORMER, encoder_layers=4),
}
BN = dict(epsilon=1e-5, momentum=0.99, renorm=False, rmax=3.0, dmax=5.0, ghost=0)


def _train_apply(model, variables, planes, seed, collections=("batch_stats",)):
    return model.apply(
        variables,
        planes,
        train=True,
        mutable=list(collections),
        rngs={"dropout": jax.random.PRNGKey(seed)},
    )


def _policy(out):
    return np.asarray(out["policy"]["vanilla"])


@pytest.mark.parametrize("body", sorted(BODIES))
def test_inference_is_deterministic_and_equals_the_undropped_network(body):
    planes = jnp.asarray(make_batch(8, seed=1).inputs)
    plain = build_model(BODIES[body])
    dropped = build_model(dict(BODIES[body], stochastic_depth=0.5, dropout=0.3))
    variables = plain.init(jax.random.PRNGKey(0), planes)
    want = _policy(plain.apply(variables, planes, train=False))
    first = _policy(dropped.apply(variables, planes, train=False))
    again = _policy(dropped.apply(variables, planes, train=False, rngs={"dropout": jax.random.PRNGKey(9)}))
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(again, want)


@pytest.mark.parametrize("body", sorted(BODIES))
def test_rates_leave_the_parameter_tree_unchanged(body):
    planes = jnp.asarray(make_batch(2, seed=1).inputs)
    plain = build_model(BODIES[body]).init(jax.random.PRNGKey(0), planes)
    dropped = build_model(dict(BODIES[body], stochastic_depth=0.5, dropout=0.3)).init(
        jax.random.PRNGKey(0), planes
    )
    assert jax.tree.structure(plain) == jax.tree.structure(dropped)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(dropped)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("setting", ["stochastic_depth", "dropout"])
@pytest.mark.parametrize("body", sorted(BODIES))
def test_training_outputs_follow_the_dropout_rng(body, setting):
    planes = jnp.asarray(make_batch(16, seed=2).inputs)
    model = build_model(dict(BODIES[body], **{setting: 0.4}))
    variables = model.init(jax.random.PRNGKey(0), planes)
    a, _ = _train_apply(model, variables, planes, seed=1)
    same, _ = _train_apply(model, variables, planes, seed=1)
    other, _ = _train_apply(model, variables, planes, seed=2)
    np.testing.assert_array_equal(_policy(a), _policy(same))
    assert not np.allclose(_policy(a), _policy(other))


@pytest.mark.parametrize("body", sorted(BODIES))
def test_rate_zero_ignores_the_rng_in_training(body):
    planes = jnp.asarray(make_batch(16, seed=2).inputs)
    model = build_model(BODIES[body])
    variables = model.init(jax.random.PRNGKey(0), planes)
    a, _ = _train_apply(model, variables, planes, seed=1)
    b, _ = _train_apply(model, variables, planes, seed=2)
    np.testing.assert_array_equal(_policy(a), _policy(b))


@pytest.mark.parametrize("body", sorted(BODIES))
def test_blocks_are_skipped_at_rates_rising_linearly_with_depth(body):
    rows, max_rate = 4000, 0.4
    planes = jnp.asarray(make_batch(rows, seed=3).inputs)
    model = build_model(dict(BODIES[body], stochastic_depth=max_rate))
    variables = model.init(jax.random.PRNGKey(0), planes[:2])
    _, state = _train_apply(model, variables, planes, seed=5, collections=("batch_stats", "intermediates"))
    body_state = state["intermediates"]["body"]
    blocks = sorted(body_state, key=lambda name: int(name.rsplit("_", 1)[1]))
    assert len(blocks) == 4
    for name, rate in zip(blocks, (0.1, 0.2, 0.3, 0.4)):  # max_rate * (i + 1) / 4
        (keep,) = body_state[name]["drop_path"]["keep"]
        sigma = np.sqrt(rate * (1 - rate) / rows)
        assert abs(1.0 - float(np.mean(keep)) - rate) < 4 * sigma, (name, rate)
    masks = [np.asarray(body_state[n]["drop_path"]["keep"][0]) for n in blocks]
    assert not np.array_equal(masks[0], masks[1])  # each block draws its own rows


def test_a_skipped_resnet_block_passes_its_input_and_a_kept_one_is_rescaled():
    rows, rate = 3000, 0.3
    x = jax.random.normal(jax.random.PRNGKey(1), (rows, 8, 8, 8))
    # activation 'none' so the output is branch + skip, and the branch can be read off
    full = ResidualBlock(8, 4, "none", BN)
    dropped = ResidualBlock(8, 4, "none", BN, drop_path=rate)
    variables = full.init(jax.random.PRNGKey(0), x, False)
    branch = full.apply(variables, x, True, mutable=["batch_stats"])[0] - x
    out, _ = dropped.apply(
        variables, x, True, mutable=["batch_stats"], rngs={"dropout": jax.random.PRNGKey(2)}
    )
    out = np.asarray(out)
    skipped = np.all(out == np.asarray(x), axis=(1, 2, 3))
    assert abs(skipped.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / rows)
    kept = ~skipped
    np.testing.assert_allclose(out[kept], np.asarray(x + branch / (1 - rate))[kept], rtol=1e-4, atol=1e-4)


def test_a_skipped_encoder_block_only_normalises():
    rows, rate, d_model = 2000, 0.5, 16
    x = jax.random.normal(jax.random.PRNGKey(1), (rows, 64, d_model))
    layer = EncoderLayer(d_model, 2, 16, "relu", 0.7, 0.6, 1e-3, 0.0, None, drop_path=rate)
    variables = layer.init(jax.random.PRNGKey(0), x[:2], None, False)
    out = np.asarray(layer.apply(variables, x, None, True, rngs={"dropout": jax.random.PRNGKey(3)}))
    ln = LayerNorm(1e-3)
    p = variables["params"]
    normalised = ln.apply({"params": p["ln2"]}, ln.apply({"params": p["ln1"]}, x))
    full = np.asarray(layer.apply(variables, x, None, False))
    skipped = np.all(np.isclose(out, np.asarray(normalised), atol=1e-5), axis=(1, 2))
    assert abs(skipped.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / rows)
    assert not np.any(np.all(np.isclose(full, np.asarray(normalised), atol=1e-5), axis=(1, 2)))
