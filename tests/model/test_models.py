"""The flax models compute what the lc0 engine computes for the same weights."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))  # the trainer tests' tiny models

from helpers import TINY_RESNET, TINY_TRANSFORMER, make_batch
from lc0_reference import resnet_forward, transformer_forward

from lcpipe.model import build_model
from lcpipe.model.layers import ACTIVATIONS, BatchNorm


def _perturb(tree, seed):
    """Random non-trivial values everywhere (gates, LN and BN included)."""
    leaves, treedef = jax.tree.flatten(tree)
    rng = np.random.default_rng(seed)
    out = []
    for leaf in leaves:
        v = np.asarray(leaf) + rng.normal(0, 0.1, leaf.shape).astype(np.float32)
        out.append(np.abs(v) + 0.5 if leaf.ndim == 1 and np.all(np.asarray(leaf) == 1.0) else v)
    return jax.tree.unflatten(treedef, out)


def _check(out, ref):
    np.testing.assert_allclose(np.asarray(out["policy"]["vanilla"]), ref["policy"], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(
        np.asarray(jax.nn.softmax(out["value"]["winner"]["wdl"])), ref["wdl"], atol=1e-4
    )
    np.testing.assert_allclose(np.asarray(out["moves_left"]), ref["moves_left"], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("policy_type", ["conv", "classical"])
def test_resnet_matches_lc0_engine_math(policy_type):
    cfg = dict(TINY_RESNET, policy_type=policy_type, activation="mish")
    model = build_model(cfg)
    planes = make_batch(3, seed=1).inputs
    v = model.init(jax.random.PRNGKey(0), jnp.asarray(planes))
    v = {"params": _perturb(v["params"], 1), "batch_stats": _perturb(v["batch_stats"], 2)}
    v["batch_stats"] = jax.tree.map(lambda s: np.abs(s) + 0.1, v["batch_stats"])  # variances > 0
    out = jax.jit(lambda v, x: model.apply(v, x, train=False))(v, planes)
    _check(out, resnet_forward(v, model.cfg, planes))


def test_transformer_matches_lc0_engine_math():
    cfg = dict(
        TINY_TRANSFORMER,
        encoder_layers=2,
        activation="mish",
        ffn_activation="relu_2",
        policy_heads=["vanilla", "optimistic", "opponent", "next"],
        policy_embedding=12,
        policy_d_model=6,
    )
    model = build_model(cfg)
    planes = make_batch(3, seed=2).inputs
    planes[0, 12:24] = planes[0, :12]  # some history
    v = model.init(jax.random.PRNGKey(0), jnp.asarray(planes))
    v = {"params": _perturb(v["params"], 3)}
    # one policy embedding for all heads, as in lc0's format; each head its own Q/K/promotion
    assert v["params"]["policy_embedding"]["kernel"].shape == (16, 12)
    assert all("embedding" not in v["params"][f"policy_{h}"] for h in cfg["policy_heads"])
    out = jax.jit(lambda v, x: model.apply(v, x, train=False))(v, planes)
    ref = transformer_forward(v, model.cfg, planes)
    _check(out, ref)
    for head in cfg["policy_heads"]:
        np.testing.assert_allclose(
            np.asarray(out["policy"][head]), ref["policies"][head], rtol=2e-3, atol=2e-3
        )
    assert not np.allclose(
        np.asarray(out["policy"]["optimistic"]), np.asarray(out["policy"]["vanilla"]), atol=1e-2
    )


def test_promotion_logits_reach_their_moves():
    """h7h8 promotions (q, r, b) and the plain knight-promotion index are all fed."""
    from lcpipe.lc0.policy import ATTENTION_GATHER

    # h7h8q/r/b are the last three moves; their sources are in the promotion block.
    assert list(ATTENTION_GATHER[-3:]) == [4096 + 24 * 7 + 3 * 7 + i for i in range(3)]


def test_activations_match_definitions():
    x = jnp.linspace(-3, 3, 13)
    np.testing.assert_allclose(ACTIVATIONS["mish"](x), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ACTIVATIONS["relu_2"](x), np.maximum(x, 0) ** 2)
    np.testing.assert_allclose(ACTIVATIONS["swish"](x), x / (1 + np.exp(-x)), rtol=1e-5)


def test_ghost_batch_norm_uses_per_ghost_statistics():
    x = np.concatenate([np.zeros((4, 2, 2, 1)), np.full((4, 2, 2, 1), 10.0)]).astype(np.float32)
    x += np.random.default_rng(0).normal(0, 1, x.shape).astype(np.float32)
    whole = BatchNorm()
    ghost = BatchNorm(ghost=4)
    v = whole.init(jax.random.PRNGKey(0), x, train=True)
    y_whole, _ = whole.apply(v, x, train=True, mutable=["batch_stats"])
    y_ghost, upd = ghost.apply(v, x, train=True, mutable=["batch_stats"])
    # Each ghost batch is normalised on its own: both halves have mean ~0.
    assert abs(float(y_ghost[:4].mean())) < 1e-4 and abs(float(y_ghost[4:].mean())) < 1e-4
    assert float(y_whole[:4].mean()) < -0.5  # whole-batch statistics: first half is below the mean
    # Running mean moved towards the batch mean (~5).
    assert float(upd["batch_stats"]["mean"][0]) == pytest.approx(0.01 * float(x.mean()), rel=1e-3)


def test_batch_renorm_corrects_towards_running_moments():
    x = np.random.default_rng(1).normal(3.0, 2.0, (16, 2, 2, 1)).astype(np.float32)
    bn = BatchNorm(renorm=True, rmax=1e9, dmax=1e9)
    v = bn.init(jax.random.PRNGKey(0), x, train=True)
    v = {"params": v["params"], "batch_stats": {"mean": jnp.asarray([3.0]), "var": jnp.asarray([4.0])}}
    y, _ = bn.apply(v, x, train=True, mutable=["batch_stats"])
    # Unclipped renorm equals normalising with the running moments.
    np.testing.assert_allclose(np.asarray(y), (x - 3.0) / np.sqrt(4.0 + 1e-5), rtol=1e-4, atol=1e-4)
    y_plain, _ = BatchNorm().apply(v, x, train=True, mutable=["batch_stats"])
    assert not np.allclose(np.asarray(y_plain), np.asarray(y), atol=1e-3)


def test_reduced_precision_runs_with_f32_master_weights():
    model = build_model(TINY_TRANSFORMER, "bfloat16")
    planes = make_batch(2).inputs
    v = jax.jit(model.init)(jax.random.PRNGKey(0), planes)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(v))
    out = jax.jit(model.apply)(v, planes)
    ref = jax.jit(build_model(TINY_TRANSFORMER).apply)(v, planes)
    assert out["policy"]["vanilla"].dtype == jnp.float32
    np.testing.assert_allclose(
        np.asarray(out["value"]["winner"]["wdl"]), np.asarray(ref["value"]["winner"]["wdl"]), atol=0.1
    )


def test_bad_model_config_is_a_clear_error():
    with pytest.raises(ValueError, match="value_heads"):
        build_model(dict(value_heads=["q"]))
    with pytest.raises(ValueError, match="unknown model settings"):
        build_model(dict(layers=3))
