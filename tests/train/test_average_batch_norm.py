"""An averaged residual network gets batch-norm statistics of its own weights (recomputed on the
latest training batches), in what it predicts, evaluates, emits and checkpoints."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import TINY_RESNET, make_batch

from lcpipe.train.checkpoints import checkpoint_weights
from lcpipe.train.trainer import Trainer

SETTINGS = {
    "model": TINY_RESNET,
    "optimizer": {"name": "sgd", "momentum": 0.9},
    "schedule": {"lr": 0.05},
    "swa": {"enabled": True, "period": 1, "max_count": 1000, "bn_batches": 1},
    "ema": {"enabled": True, "decay": 0.5, "bn_batches": 0},
}
BATCHES = [make_batch(16, seed=s) for s in range(3)]


def leaves(tree):
    return [np.asarray(jax.device_get(x)) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def trained():
    t = Trainer(SETTINGS)
    t.init()
    for i in range(9):
        t.step(BATCHES[i % 3])
    return t


def test_the_average_runs_at_inference_as_in_training_on_the_batch_its_statistics_come_from(trained):
    t = trained
    x = BATCHES[2].inputs.reshape(-1, 112, 8, 8)  # the latest batch: the one bn_batches=1 keeps
    swa = t.weights("swa")
    train_mode, _ = t.model.apply(
        {"params": swa, "batch_stats": t.state["batch_stats"]}, x, train=True, mutable=["batch_stats"]
    )
    inference = t.predict(x, "swa")
    np.testing.assert_allclose(
        np.asarray(inference["policy"]["vanilla"]), np.asarray(train_mode["policy"]["vanilla"]), atol=2e-4
    )
    # with the raw model's statistics the averaged weights are off
    stale = t.model.apply({"params": swa, "batch_stats": t.state["batch_stats"]}, x, train=False)
    gap = np.abs(np.asarray(stale["policy"]["vanilla"]) - np.asarray(train_mode["policy"]["vanilla"]))
    assert gap.max() > 1e-2


def test_raw_weights_and_bn_batches_0_keep_the_running_statistics(trained):
    t = trained
    raw = leaves(t.state["batch_stats"])
    for a, b in zip(leaves(t.batch_stats("raw")), raw):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(leaves(t.batch_stats("ema")), raw):  # ema: bn_batches 0
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(leaves(t.batch_stats("swa")), raw))


def test_snapshot_and_checkpoint_carry_the_recomputed_statistics(trained, tmp_path):
    t = trained
    want = leaves(t.batch_stats("swa"))
    snap = t.snapshot("swa")
    for a, b in zip(leaves(snap.params["batch_stats"]), want):
        np.testing.assert_array_equal(a, b)
    t.save(str(tmp_path), wait=True)
    saved = checkpoint_weights(tmp_path, t.step_count, "swa")
    for a, b in zip(leaves(saved["batch_stats"]), want):
        np.testing.assert_array_equal(a, b)
    resumed = Trainer(SETTINGS)
    resumed.restore(str(tmp_path))
    for a, b in zip(leaves(resumed.batch_stats("swa")), want):  # no batches yet: the saved ones
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_from_before_averages_had_statistics_still_resumes(tmp_path):
    t = Trainer(SETTINGS)
    t.init()
    t.step(BATCHES[0])
    t.state = {k: v for k, v in t.state.items() if k not in ("swa_batch_stats", "ema_batch_stats")}
    t._recent_batches.clear()  # as an older trainer wrote it: no statistics of the averages
    t.save(str(tmp_path), wait=True)
    resumed = Trainer(SETTINGS)
    assert resumed.restore(str(tmp_path)) == 1
    for a, b in zip(leaves(resumed.batch_stats("swa")), leaves(resumed.state["batch_stats"])):
        np.testing.assert_array_equal(a, b)
