"""policy_temperature_schedule: the policy target's temperature follows its points over the steps,
computed inside the jitted step."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import TINY_TRANSFORMER, make_batch

from lcpipe.train.schedules import make_temperature_schedule
from lcpipe.train.settings import normalize_losses
from lcpipe.train.trainer import Trainer

POINTS = [{"step": 0, "temperature": 0.5}, {"step": 4, "temperature": 2.5}]
BASE = {"model": TINY_TRANSFORMER, "optimizer": {"name": "adam"}, "schedule": {"lr": 1e-3}}
BATCHES = [make_batch(16, seed=s) for s in range(3)]


def trainer(losses: dict) -> Trainer:
    t = Trainer({**BASE, "losses": losses})
    t.init()
    return t


def test_schedule_is_linear_between_points_and_held_outside():
    temp = make_temperature_schedule(normalize_losses({"policy_temperature_schedule": POINTS}))
    got = [float(temp(s)) for s in (0, 1, 2, 4, 100)]
    assert got == pytest.approx([0.5, 1.0, 1.5, 2.5, 2.5])
    assert float(make_temperature_schedule(normalize_losses({"policy_temperature": 3.0}))(7)) == 3.0


def test_unordered_points_are_refused():
    with pytest.raises(ValueError, match="strictly increasing"):
        normalize_losses({"policy_temperature_schedule": POINTS[::-1]})


def test_the_step_trains_on_the_scheduled_target():
    annealed = trainer({"policy_temperature_schedule": POINTS})
    reference = {t: trainer({"policy_temperature": t}) for t in (0.5, 1.5)}
    m = annealed.step(BATCHES[0])
    first = reference[0.5].step(BATCHES[0])
    assert float(m["policy_temperature"]) == 0.5
    assert float(m["policy_vanilla_loss"]) == pytest.approx(float(first["policy_vanilla_loss"]), rel=1e-6)
    annealed.step(BATCHES[1])

    # step 2: the schedule says 1.5; a constant-1.5 trainer from the same state computes the same loss
    state = jax.tree.map(lambda a: np.asarray(jax.device_get(a)), annealed.state)
    for ref in reference.values():
        ref.state = ref._place(state)
    m = annealed.step(BATCHES[2])
    expected, initial = (float(reference[t].step(BATCHES[2])["policy_vanilla_loss"]) for t in (1.5, 0.5))
    assert float(m["policy_temperature"]) == pytest.approx(1.5)
    assert float(m["policy_vanilla_loss"]) == pytest.approx(expected, rel=1e-6)
    assert float(m["policy_vanilla_loss"]) != pytest.approx(initial, rel=1e-3)  # not the start's target
