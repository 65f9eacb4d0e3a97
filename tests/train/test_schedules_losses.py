"""Learning-rate schedules and loss functions: values and masking."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcpipe.train.losses import compute_losses, l2_penalty, policy_target
from lcpipe.train.schedules import make_schedule
from lcpipe.train.settings import normalize_losses


def lr_at(cfg, steps):
    f = make_schedule(cfg)
    return [float(f(s)) for s in steps]


def test_piecewise_segments_warmup_and_hold():
    cfg = {
        "lr": 1.0,
        "warmup_steps": 4,
        "segments": [
            {"steps": 10, "type": "constant", "lr": 1.0},
            {"steps": 10, "type": "linear", "lr": 1.0, "end_lr": 0.0},
            {"steps": 10, "type": "cosine", "lr": 0.5, "end_lr": 0.1},
        ],
    }
    got = lr_at(cfg, [0, 3, 5, 10, 15, 20, 25, 30, 100])
    assert got == pytest.approx([0.25, 1.0, 1.0, 1.0, 0.5, 0.5, 0.3, 0.1, 0.1], abs=1e-6)


def test_step_boundaries():
    got = lr_at({"boundaries": [10, 20], "values": [1.0, 0.1, 0.01]}, [0, 9, 10, 19, 20, 1000])
    assert got == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


@pytest.mark.parametrize("mult", [1.0, 2.0])
def test_cosine_warm_restarts(mult):
    cfg = {"lr": 1.0, "min_lr": 0.0, "restart_period": 10, "restart_mult": mult}
    starts = [0, 10, 20] if mult == 1.0 else [0, 10, 30]
    got = lr_at(cfg, starts + [s + (5 if i == 0 else 5 * mult**i) for i, s in enumerate(starts)])
    assert got[:3] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)  # each period restarts at the top
    assert got[3:] == pytest.approx([0.5, 0.5, 0.5], abs=1e-5)  # and is half way at its middle


def test_schedule_is_a_pure_function_of_step_inside_jit():
    f = make_schedule({"segments": [{"steps": 7, "type": "cosine", "lr": 1.0, "end_lr": 0.0}]})
    steps = jnp.arange(0, 12)
    assert np.allclose(jax.jit(jax.vmap(f))(steps), [float(f(int(s))) for s in steps], atol=1e-6)


def _batch(logits_shift=0.0):
    probs = np.full((2, 1858), -1.0, np.float32)
    probs[0, [1, 2, 3]] = [0.5, 0.5, 0.0]
    probs[1, [4, 5]] = [0.9, 0.1]
    values = np.zeros((2, 6, 3), np.float32)
    values[:, :, 0] = [[1, 1, 1, 1, 1, 1], [-1, -1, -1, -1, -1, np.nan]]
    values[:, 0, 2] = [30.0, np.nan]
    return {
        "probabilities": jnp.asarray(probs),
        "values": jnp.asarray(values),
        "opponent_idx": jnp.asarray([7, -1]),
        "next_idx": jnp.asarray([-1, -1]),
    }


def _outputs(seed=0, illegal=0.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(2, 1858)).astype(np.float32)
    logits[:, 10:] += illegal
    return {
        "policy": {"vanilla": jnp.asarray(logits), "opponent": jnp.asarray(logits)},
        "value": {"winner": {"wdl": jnp.asarray(rng.normal(size=(2, 3)).astype(np.float32))}},
        "moves_left": jnp.asarray([25.0, 3.0]),
    }


def test_policy_loss_ignores_illegal_logits():
    cfg = normalize_losses({})
    a = compute_losses(_outputs(), _batch(), cfg)[1]["policy_vanilla_loss"]
    b = compute_losses(_outputs(illegal=50.0), _batch(), cfg)[1]["policy_vanilla_loss"]
    assert float(a) == pytest.approx(float(b), rel=1e-6)
    # Changing a legal logit does change it.
    out = _outputs()
    out["policy"]["vanilla"] = out["policy"]["vanilla"].at[0, 1].add(3.0)
    assert float(compute_losses(out, _batch(), cfg)[1]["policy_vanilla_loss"]) != pytest.approx(float(a))


def test_policy_target_temperature_smoothing_and_renormalisation():
    probs = jnp.asarray([[0.2, 0.6, -1.0, 0.0]])  # sums to 0.8: renormalised
    p, legal, valid = policy_target(probs, 1.0, 0.0)
    np.testing.assert_allclose(p[0], [0.25, 0.75, 0, 0], atol=1e-6)
    p, _, _ = policy_target(probs, 2.0, 0.0)
    w = np.sqrt([0.2, 0.6])
    np.testing.assert_allclose(p[0, :2], w / w.sum(), atol=1e-6)
    p, _, _ = policy_target(probs, 1.0, 0.3)
    np.testing.assert_allclose(p[0], [0.7 * 0.25 + 0.1, 0.7 * 0.75 + 0.1, 0, 0.1], atol=1e-6)
    assert bool(valid[0]) and list(np.asarray(legal[0])) == [True, True, False, True]


def test_kl_equals_ce_minus_target_entropy():
    ce = compute_losses(_outputs(), _batch(), normalize_losses({}))[1]["policy_vanilla_loss"]
    kl = compute_losses(_outputs(), _batch(), normalize_losses({"policy_loss": "kl"}))[1][
        "policy_vanilla_loss"
    ]
    h = (-(0.5 * np.log(0.5)) * 2 + -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))) / 2
    assert float(ce) - float(kl) == pytest.approx(h, rel=1e-5)


def test_unknown_targets_are_masked():
    cfg = normalize_losses({})
    out = _outputs()
    m = compute_losses(out, _batch(), cfg)[1]
    # opponent: only sample 0 counts
    logp = jax.nn.log_softmax(out["policy"]["opponent"][0])
    assert float(m["policy_opponent_loss"]) == pytest.approx(-float(logp[7]), rel=1e-5)
    # moves left: only sample 0 (target 30, pred 25 -> scaled err 0.25 < delta 0.5 -> 0.5*0.0625)
    assert float(m["moves_left_loss"]) == pytest.approx(0.5 * 0.25**2, rel=1e-5)


def test_value_target_rows_and_q_ratio():
    b = _batch()
    b["values"] = b["values"].at[:, 4, 0].set(0.0).at[:, 4, 1].set(1.0)  # root says draw
    out = _outputs()
    p = jax.nn.softmax(out["value"]["winner"]["wdl"])
    for q_ratio, target in ((0.0, [[1, 0, 0], [0, 0, 1]]), (0.5, [[0.5, 0.5, 0], [0, 0.5, 0.5]])):
        m = compute_losses(out, b, normalize_losses({"q_ratio": q_ratio}))[1]
        want = -np.mean(np.sum(np.asarray(target) * np.log(np.asarray(p)), axis=1))
        assert float(m["value_winner_loss"]) == pytest.approx(want, rel=1e-5)


def test_l2_rules_choose_parameters():
    params = {"a": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}, "b": {"kernel": jnp.ones(3)}}
    cfg = normalize_losses(
        {
            "l2": 0.5,
            "l2_rules": [{"pattern": "b/*", "l2": 2.0}, {"pattern": "*kernel"}, {"pattern": "*", "l2": 0.0}],
        }
    )
    assert float(l2_penalty(params, cfg)) == pytest.approx(0.5 * 4 + 2.0 * 3)


def test_optimistic_policy_weights_samples_by_predicted_error():
    out = _outputs()
    out["policy"] = {"optimistic": out["policy"]["vanilla"]}
    out["value"]["winner"]["error"] = jnp.asarray([0.01, 0.01])  # predicted sigma of q: 0.2
    out["value"]["winner"]["wdl"] = jnp.asarray(
        [[-5.0, 0.0, 5.0], [-5.0, 0.0, 5.0]]
    )  # predicts a loss for both
    base = _batch()  # sample 0 won (surprise: z = 10), sample 1 lost as predicted (z = 0)
    logp = jax.nn.log_softmax(jnp.where(base["probabilities"] >= 0, out["policy"]["optimistic"], -1e30))
    ce0 = float(-(0.5 * logp[0, 1] + 0.5 * logp[0, 2]))
    ce1 = float(-(0.9 * logp[1, 4] + 0.1 * logp[1, 5]))
    sharp = normalize_losses({"optimistic_strength": 50.0, "optimistic_threshold": 0.5})
    assert float(compute_losses(out, base, sharp)[1]["policy_optimistic_loss"]) == pytest.approx(
        ce0, rel=1e-3
    )
    soft = normalize_losses({"optimistic_strength": 50.0, "optimistic_threshold": 0.0})
    p = np.asarray(jax.nn.softmax(out["value"]["winner"]["wdl"][1]))
    z1 = (-1.0 - (p[0] - p[2])) / (2 * np.sqrt(0.01 + 1e-6))  # as predicted, up to the draw mass
    w1 = 1 / (1 + np.exp(-50.0 * z1))
    want = (ce0 + w1 * ce1) / (1 + w1)
    assert float(compute_losses(out, base, soft)[1]["policy_optimistic_loss"]) == pytest.approx(
        want, rel=1e-3
    )
    with pytest.raises(ValueError, match="error output"):
        del out["value"]["winner"]["error"]
        compute_losses(out, base, sharp)
