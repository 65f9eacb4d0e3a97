"""The Trainer end to end on a tiny transformer: learning, resume, guards."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import TINY_TRANSFORMER, make_batch

from lcpipe.train.trainer import NonFiniteError, Trainer, schedule_count

SETTINGS = {
    "model": TINY_TRANSFORMER,
    "optimizer": {"name": "sgd", "momentum": 0.9, "weight_decay": 1e-4},
    "schedule": {"lr": 0.05, "warmup_steps": 8},  # an lr that changes over the first steps
    "max_nan_steps": 2,
}
BATCHES = [make_batch(16, seed=s) for s in range(3)]


def params_np(tree):
    return jax.tree.map(lambda a: np.asarray(jax.device_get(a)), tree)


def assert_trees_equal(a, b, atol=0.0):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def trained():
    """One run: the step-by-step weights and the trainer after it."""
    t = Trainer(SETTINGS)
    t.init()
    history, losses = [], []
    for i in range(24):
        m = t.step(BATCHES[i % 3])
        losses.append(float(m["loss"]))
        history.append(params_np(t.state["params"]))
    return t, history, losses


def test_losses_fall_on_learnable_data(trained):
    t, _, losses = trained
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])
    ev = t.evaluate(BATCHES[:2])
    for key in (
        "loss",
        "policy_accuracy",
        "policy_entropy",
        "value_winner_accuracy",
        "value_winner_calibration",
        "moves_left_loss",
    ):
        assert np.isfinite(ev[key]), key
    assert ev["policy_accuracy"] > 0.5


def test_snapshot_round_trips_through_init_from_variables(trained):
    t, _, _ = trained
    snap = t.snapshot()
    assert snap.kind == "raw" and snap.step == 24 and snap.model["body"] == "transformer"
    t2 = Trainer(SETTINGS)
    t2.init_from_variables(snap.params)
    x = BATCHES[0].inputs[:4]
    a = t.predict(x)["policy"]["vanilla"]
    b = t2.predict(x)["policy"]["vanilla"]
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_kill_and_resume_gives_identical_weights(tmp_path):
    full = Trainer(SETTINGS)
    full.init()
    for i in range(6):
        full.step(BATCHES[i % 3])
        if i == 2:
            full.save(str(tmp_path), wait=True)
    full.close()
    resumed = Trainer(SETTINGS)  # a fresh process would do the same
    assert resumed.restore(str(tmp_path)) == 3
    for i in range(3, 6):
        resumed.step(BATCHES[i % 3])
    assert resumed.step_count == 6
    for key in ("params", "opt_state", "rng"):
        assert_trees_equal(params_np(resumed.state[key]), params_np(full.state[key]))
    resumed.close()


def test_nan_guard_skips_and_stops(trained):
    t = Trainer(SETTINGS)
    t.init()
    t.step(BATCHES[0])
    before = params_np(t.state)
    bad = make_batch(16, seed=9)
    bad.inputs[0, 0, 0, 0] = np.nan
    m = t.step(bad)
    assert float(m["skipped"]) == 1.0
    after = params_np(t.state)
    for key in ("params", "opt_state"):
        assert_trees_equal(after[key], before[key])
    t.check_finite()  # one bad step is tolerated
    t.step(bad)
    with pytest.raises(NonFiniteError, match="2 consecutive"):
        t.check_finite()
    t.step(BATCHES[1])  # a good step resets the count
    t.check_finite()
    assert int(t.state["nan_total"]) == 2


def test_gradient_accumulation_equals_the_big_batch(trained):
    _, history, _ = trained  # the same init (seed), then BATCHES[0], BATCHES[1] as whole batches
    acc = Trainer(dict(SETTINGS, optimizer=dict(SETTINGS["optimizer"], accumulate=2)))
    acc.init()
    for i in range(2):
        acc.step(BATCHES[i])
    assert_trees_equal(params_np(acc.state["params"]), history[1], atol=1e-6)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="unknown trainer settings"):
        Trainer({"modle": {}})
    with pytest.raises(ValueError, match="optimizer.name"):
        Trainer({"optimizer": {"name": "adagrad"}})


def test_float16_dynamic_loss_scaling():
    # (a smaller model than SETTINGS': what matters here is the loss scale, and it compiles faster)
    t = Trainer(
        dict(
            SETTINGS,
            model=dict(TINY_TRANSFORMER, smolgen=False, moves_left=False),
            precision="float16",
            loss_scale={"initial": 8.0, "period": 2},
        )
    )
    t.init()
    bad = make_batch(16, seed=9)
    bad.inputs[0, 0, 0, 0] = np.nan
    t.step(bad)  # overflow: skipped and the scale halves
    assert float(t.state["loss_scale"]) == 4.0
    m = t.step(BATCHES[0])
    assert float(m["skipped"]) == 0.0 and np.isfinite(float(m["loss"]))
    t.step(BATCHES[1])  # two finite steps: the scale doubles
    assert float(t.state["loss_scale"]) == 8.0
    assert all(leaf.dtype == np.float32 for leaf in jax.tree.leaves(t.state["params"]))


def test_lr_metric_is_the_applied_lr_after_a_skipped_step():
    """The schedule runs on the count of applied updates: a skipped (non-finite) step
    does not advance it, and the reported lr is the one the update used."""
    lr = lambda k: 0.05 * min(1.0, (k + 1) / 8)
    bad = make_batch(16, seed=9)
    bad.inputs[0, 0, 0, 0] = np.nan
    t = Trainer(SETTINGS)
    t.init()
    got = [float(t.step(b)["lr"]) for b in (BATCHES[0], bad, BATCHES[1], BATCHES[2])]
    # applied updates 0, (skipped: the next one would use lr(1)), 1, 2
    np.testing.assert_allclose(got, [lr(0), lr(1), lr(1), lr(2)], rtol=1e-6)
    assert t.step_count == 4
    # and the weights are those of the same three good steps without the skipped one
    ref = Trainer(SETTINGS)
    ref.init()
    for b in (BATCHES[0], BATCHES[1], BATCHES[2]):
        ref.step(b)
    for key in ("params", "opt_state"):
        assert_trees_equal(params_np(t.state[key]), params_np(ref.state[key]))


def test_start_from_variables_keeps_the_step_and_restarts_the_schedule(trained):
    """An imported net carries on its step count; its fine-tune starts the schedule afresh."""
    t, _, _ = trained
    fine = Trainer(SETTINGS)
    fine.init_from_variables(t.snapshot().params, step=400_000)
    assert fine.step_count == 400_000 and fine.start_step == 400_000
    lrs = [float(fine.step(BATCHES[i])["lr"]) for i in range(2)]
    np.testing.assert_allclose(lrs, [0.05 / 8, 0.05 * 2 / 8], rtol=1e-6)  # warmup from its start
    assert fine.step_count == 400_002 and fine.snapshot().step == 400_002


def test_start_from_a_checkpoints_weights_with_another_optimizer(trained, tmp_path):
    """init_checkpoint (weights_only) takes params, batch statistics and the step, whatever
    optimizer state or averages the checkpoint holds."""
    t, _, _ = trained
    t.save(str(tmp_path / "ck"), wait=True)
    other = Trainer(dict(SETTINGS, optimizer={"name": "adamw"}))
    assert other.restore(str(tmp_path / "ck"), weights_only=True) == 24
    assert other.step_count == 24 and other.start_step == 24
    assert_trees_equal(params_np(other.state["params"]), params_np(t.state["params"]))
    assert int(schedule_count(other.state["opt_state"])) == 0  # a fresh optimizer: the schedule starts over
    other.close()
