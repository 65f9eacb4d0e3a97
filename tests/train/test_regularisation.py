"""The trainer trains with stochastic depth and dropout on: its steps draw the "dropout" rng."""

from __future__ import annotations

import numpy as np
from helpers import TINY_RESNET, make_batch

from lcpipe.train.trainer import Trainer


def test_training_with_stochastic_depth_and_dropout_learns():
    settings = {"model": dict(TINY_RESNET, blocks=2, stochastic_depth=0.3, dropout=0.1), "seed": 4}
    trainer = Trainer(settings)
    trainer.init()
    batch = make_batch(16, seed=1)
    losses = [float(trainer.step(batch)["loss"]) for _ in range(6)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
