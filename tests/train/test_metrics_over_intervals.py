"""Reported metrics describe their whole interval or pass: training metrics are the mean of the
steps since the last report, a test pass's calibration error is that of all its positions."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_TRANSFORMER, make_batch

from lcpipe.train.trainer import IntervalMean, Trainer, batch_arrays, fetch

SETTINGS = {"model": TINY_TRANSFORMER, "schedule": {"lr": 0.02, "warmup_steps": 4}}


@pytest.fixture(scope="module")
def trainer():
    t = Trainer(SETTINGS)
    t.init()
    return t


def test_training_metrics_are_the_mean_of_the_interval_and_lr_its_latest(trainer):
    interval, losses, lrs = IntervalMean(), [], []
    for seed in range(4):
        metrics = trainer.step(make_batch(16, seed=seed))
        interval.add(metrics)
        got = fetch(metrics)
        losses.append(float(got["loss"]))
        lrs.append(float(got["lr"]))
    assert len(set(lrs)) > 1 and len(set(losses)) > 1  # warmup: both change from step to step
    report = interval.take()
    assert report["loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    assert report["lr"] == pytest.approx(lrs[-1])
    assert interval.take() == {}  # the next interval starts empty


def test_a_pass_has_one_calibration_error_over_all_its_positions(trainer):
    base = batch_arrays(make_batch(16, seed=10))
    won, lost = base["values"].copy(), base["values"].copy()
    won[:, :, :2], lost[:, :, :2] = (1.0, 0.0), (-1.0, 0.0)  # every target: a win, or a loss
    a, b = dict(base, values=won), dict(base, values=lost)
    # the same predictions miss the two batches in opposite directions: over the pass they cancel
    one = {k: np.concatenate([a[k], b[k]]) for k in a}
    whole = trainer.evaluate([one])["value_winner_calibration"]
    by_batch = trainer.evaluate([a, b])
    assert by_batch["value_winner_calibration"] == pytest.approx(whole, rel=1e-4)
    each = [trainer.evaluate([x])["value_winner_calibration"] for x in (a, b)]
    assert np.mean(each) != pytest.approx(whole, rel=1e-4)  # what averaging per batch reported
    assert by_batch["loss"] == pytest.approx(trainer.evaluate([one])["loss"], rel=1e-4)
