"""The spike guard on the real Trainer: an outlier batch is skipped and counted, repeated spikes roll
back to the last checkpoint with a halved learning rate that the checkpoint keeps."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import TINY_TRANSFORMER, make_batch

from lcpipe.train.trainer import Trainer

GUARD = {"enabled": True, "factor": 10.0, "window": 8, "min_history": 4}
SETTINGS = {
    "model": TINY_TRANSFORMER,
    "optimizer": {"name": "adam"},
    "schedule": {"lr": 1e-3},
    "spike_guard": GUARD,
}
NORMAL = [make_batch(16, seed=s) for s in range(3)]


def outlier_batch():
    """Value targets scaled far outside [-1, 1]: a finite loss and gradient hundreds of times the usual."""
    batch = make_batch(16, seed=7)
    batch.values[..., :2] *= 1e4
    return batch


def numpy_tree(tree):
    return jax.tree.map(lambda a: np.asarray(jax.device_get(a)), tree)


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def warm(trainer: Trainer, steps: int) -> None:
    for i in range(steps):
        m = trainer.step(NORMAL[i % 3])
        assert float(m["spike_skipped"]) == 0.0, f"normal step {i} taken for a spike"


def test_outlier_batch_is_skipped_and_counted():
    t = Trainer(SETTINGS)
    t.init()
    warm(t, 6)
    kept = {k: numpy_tree(t.state[k]) for k in ("params", "opt_state", "batch_stats")}
    m = t.step(outlier_batch())
    assert float(m["spike_skipped"]) == 1.0 and float(m["skipped"]) == 0.0
    for key, before in kept.items():
        assert same(before, numpy_tree(t.state[key])), f"{key} changed on a skipped spike"
    assert int(t.state["spike_total"]) == 1 and int(t.state["spike_consecutive"]) == 1
    m = t.step(NORMAL[0])  # the next normal step trains again
    assert float(m["spike_skipped"]) == 0.0
    assert not same(kept["params"], numpy_tree(t.state["params"]))
    assert int(t.state["spike_consecutive"]) == 0 and int(t.state["spike_total"]) == 1


def test_outlier_batch_trains_without_the_guard():
    t = Trainer({**SETTINGS, "spike_guard": {"enabled": False}})
    t.init()
    for i in range(6):
        t.step(NORMAL[i % 3])
    before = numpy_tree(t.state["params"])
    m = t.step(outlier_batch())
    assert "spike_skipped" not in m and float(m["skipped"]) == 0.0
    assert not same(before, numpy_tree(t.state["params"]))


def test_guard_waits_for_min_history():
    t = Trainer(SETTINGS)
    t.init()
    warm(t, 2)  # fewer finite steps than min_history: no median to trust yet
    before = numpy_tree(t.state["params"])
    m = t.step(outlier_batch())
    assert float(m["spike_skipped"]) == 0.0
    assert not same(before, numpy_tree(t.state["params"]))


def test_repeated_spikes_roll_back_and_halve_the_lr(tmp_path):
    ckdir = str(tmp_path / "ck")
    settings = {**SETTINGS, "spike_guard": {**GUARD, "rollback_after": 2}, "checkpoint": {"async": False}}
    t = Trainer(settings)
    t.init()
    warm(t, 5)
    t.save(ckdir, wait=True, extra={"network_step": 5})
    saved = numpy_tree(t.state["params"])
    warm(t, 2)
    assert not same(saved, numpy_tree(t.state["params"]))
    t.step(outlier_batch())
    assert not t.rollback_due()
    t.step(outlier_batch())
    assert t.rollback_due()

    said = t.rollback(ckdir)
    assert "step 5" in said and "0.5" in said
    assert t.step_count == 5 and same(saved, numpy_tree(t.state["params"]))
    assert t.lr_multiplier == 0.5 and not t.rollback_due()
    m = t.step(NORMAL[0])
    assert float(m["lr"]) == pytest.approx(0.5e-3)
    t.close()

    again = Trainer(settings)  # a restart keeps the halved rate, and the checkpoint's own meta
    assert again.restore(ckdir) == 5
    assert again.lr_multiplier == 0.5
    assert again.checkpoint_meta["lr_multiplier"] == 0.5 and again.checkpoint_meta["network_step"] == 5
    again.close()

    from lcpipe.train.tools.checkpoint_text import report_text
    from lcpipe.train.tools.inspect_checkpoint import read_report

    described = report_text(read_report(ckdir))  # what `lcpipe train describe` prints
    assert "learning-rate multiplier (spike-guard rollbacks): 0.5" in described


def test_rollback_settings_are_checked():
    with pytest.raises(ValueError, match="min_history"):
        Trainer({**SETTINGS, "spike_guard": {**GUARD, "min_history": 9}})
    with pytest.raises(ValueError, match="lookahead"):
        Trainer(
            {
                **SETTINGS,
                "optimizer": {"name": "adam", "lookahead_steps": 5},
                "spike_guard": {**GUARD, "rollback_after": 3},
            }
        )


def test_stage_rolls_back_on_repeated_spikes(tmp_path):
    """train.jax end to end: two outlier batches after step 6 roll it back to its step-4 checkpoint,
    it logs so, trains on with half the learning rate and its last checkpoint keeps the multiplier."""
    import threading

    from lcpipe.runtime.bus import EventBus
    from lcpipe.runtime.channels import StreamChannel
    from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
    from lcpipe.train.checkpoints import read_checkpoint_meta
    from lcpipe.train.settings import normalize_settings
    from lcpipe.train.train_stage import TrainStage

    config = normalize_settings(
        {
            **SETTINGS,
            "spike_guard": {**GUARD, "rollback_after": 2},
            "total_steps": 8,
            "steps_per_network": 0,
            "test_every": 0,
            "validation_every": 0,
            "metrics_every": 1,
            "checkpoint": {"every": 4, "async": False},
        }
    )
    stop, bus = threading.Event(), EventBus()
    train, out = StreamChannel("train", capacity=64), StreamChannel("weights", capacity=64)
    for batch in [*(NORMAL[i % 3] for i in range(6)), outlier_batch(), outlier_batch(), *NORMAL]:
        train.put(batch)
    train.writer_done()
    ctx = StageContext(
        "train",
        "train.jax",
        config,
        {"train": InputPort("train", train, stop)},
        {"weights": OutputPort("weights", [out], stop)},
        bus,
        stop,
        tmp_path,
    )
    TrainStage(ctx).run()
    warnings = [e.data["message"] for e in bus._history if e.kind == "log" and e.data["level"] == "warning"]
    assert any("2 consecutive loss spikes at step 8" in w and "step 4" in w for w in warnings), warnings
    # 8 steps trained, 6 before the spikes: the rollback to step 4 left 4 to train (3 batches remained)
    step, meta = read_checkpoint_meta(str(tmp_path / "checkpoints"))
    assert step == 7 and meta["lr_multiplier"] == 0.5
    assert bus.latest_metrics["train"]["train/lr"] == pytest.approx(0.5e-3)


@pytest.mark.parametrize("before, after", [(False, True), (True, False)])
def test_a_run_resumes_when_the_guard_is_switched_on_or_off(tmp_path, before, after):
    first = Trainer(dict(SETTINGS, spike_guard=dict(GUARD, enabled=before)))
    first.init()
    for i in range(3):
        first.step(NORMAL[i])
    first.save(str(tmp_path), wait=True)
    resumed = Trainer(dict(SETTINGS, spike_guard=dict(GUARD, enabled=after)))
    assert resumed.restore(str(tmp_path)) == 3
    assert same(numpy_tree(resumed.state["params"]), numpy_tree(first.state["params"]))
    assert same(numpy_tree(resumed.state["opt_state"]), numpy_tree(first.state["opt_state"]))
    resumed.step(NORMAL[0])  # the guard's own state starts fresh and the run goes on
    assert resumed.step_count == 4
