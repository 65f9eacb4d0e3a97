"""train.swa and train.ema over train.jax's weight stream, on the real runtime classes: the SWA is
the mean of the sampled weights, the EMA follows its formula, an averaged residual net gets
batch-norm statistics of its own, and a resumed run averages as an uninterrupted one."""

from __future__ import annotations

import threading

import jax
import numpy as np
import pytest
from helpers import TINY_RESNET, make_batch

from lcpipe.model import build_model
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import ChannelClosed, StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
from lcpipe.settings import normalize
from lcpipe.train.average_stage import AverageStage
from lcpipe.train.settings import normalize_settings
from lcpipe.train.stages import lcpipe_stage_types
from lcpipe.train.train_stage import TrainStage

TYPES = {st.name: st for st in lcpipe_stage_types()}
TRAIN = {
    "model": TINY_RESNET,
    "optimizer": {"name": "sgd", "momentum": 0.9},
    "schedule": {"lr": 0.05},
    "steps_per_network": 1,  # every step's raw weights come out: the samples to compare with
    "metrics_every": 0,
}
SWA = {"period": 2, "max_count": 1000, "bn_batches": 1}
EMA = {"decay": 0.5, "bn_batches": 0}
BATCHES = [make_batch(16, seed=s) for s in range(8)]


def _drain(channel: StreamChannel) -> list:
    got = []
    while True:
        try:
            got.append(channel.get(timeout=0))
        except (ChannelClosed, TimeoutError):
            return got


def run(tmp_path, batches, total_steps, averages=(("swa", SWA), ("ema", EMA))):
    """train.jax -> train.swa / train.ema, each in its thread; returns the snapshots by kind."""
    stop, bus = threading.Event(), EventBus()
    train_in = StreamChannel("train", capacity=64)
    for batch in batches:
        train_in.put(batch)
    train_in.writer_done()
    raw = StreamChannel("raw", capacity=64)
    streams = {kind: StreamChannel(f"steps-{kind}", capacity=4) for kind, _ in averages}
    outs = {kind: StreamChannel(f"out-{kind}", capacity=64) for kind, _ in averages}
    config = normalize_settings({**TRAIN, "total_steps": total_steps})
    train_ctx = StageContext(
        "train",
        "train.jax",
        config,
        {"train": InputPort("train", train_in, stop)},
        {
            "weights": OutputPort("weights", [raw], stop),
            "steps": OutputPort("steps", list(streams.values()), stop),
        },
        bus,
        stop,
        tmp_path,
    )
    threads, failures = [], []

    def run_stage(stage, outputs):
        try:
            stage.run()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
            stop.set()
        finally:
            for port in outputs:
                port.close()

    for kind, settings in averages:
        stage_type = f"train.{kind}"
        ctx = StageContext(
            kind,
            stage_type,
            normalize(TYPES[stage_type].schema, settings),
            {"steps": InputPort("steps", streams[kind], stop)},
            {"weights": OutputPort("weights", [outs[kind]], stop)},
            bus,
            stop,
            tmp_path,
        )
        threads.append(
            threading.Thread(target=run_stage, args=(AverageStage(ctx), ctx.output_ports()), daemon=True)
        )
    for t in threads:
        t.start()
    run_stage(TrainStage(train_ctx), train_ctx.output_ports())
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    assert not failures, failures
    return {"raw": _drain(raw), **{kind: _drain(ch) for kind, ch in outs.items()}}


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    return run(tmp_path_factory.mktemp("run"), BATCHES[:6], 6)


def test_each_average_emits_a_network_with_each_of_the_trainers(snaps):
    assert [s.step for s in snaps["raw"]] == [1, 2, 3, 4, 5, 6]
    assert [(s.step, s.kind) for s in snaps["swa"]] == [(k, "swa") for k in range(1, 7)]
    assert [(s.step, s.kind) for s in snaps["ema"]] == [(k, "ema") for k in range(1, 7)]
    assert snaps["swa"][-1].extra["averaged"] == 3  # steps 2, 4 and 6


def test_swa_is_the_mean_of_the_weights_sampled_every_period(snaps):
    raw = {s.step: leaves(s.params["params"]) for s in snaps["raw"]}
    for snap in snaps["swa"][1:]:
        sampled = [raw[k] for k in range(2, snap.step + 1, 2)]
        want = [np.mean(layer, axis=0) for layer in zip(*sampled)]
        for a, b in zip(leaves(snap.params["params"]), want):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_ema_follows_its_formula_every_step(snaps):
    raw = {s.step: leaves(s.params["params"]) for s in snaps["raw"]}
    ema = {s.step: leaves(s.params["params"]) for s in snaps["ema"]}
    for k in range(2, 7):
        for e, before, p in zip(ema[k], ema[k - 1], raw[k]):
            np.testing.assert_allclose(e, 0.5 * before + 0.5 * p, rtol=0, atol=1e-6)
    assert not all(np.array_equal(a, b) for a, b in zip(ema[6], raw[6]))


def test_the_swa_runs_at_inference_as_in_training_on_the_batch_its_statistics_come_from(snaps):
    snap = snaps["swa"][-1]  # bn_batches 1: statistics of the batch step 6 trained on
    raw_stats = snaps["raw"][-1].params["batch_stats"]
    model = build_model(snap.model, "float32")
    x = BATCHES[5].inputs.reshape(-1, 112, 8, 8)
    params = snap.params["params"]
    train_mode, _ = model.apply(
        {"params": params, "batch_stats": raw_stats}, x, train=True, mutable=["batch_stats"]
    )
    inference = model.apply(snap.params, x, train=False)
    np.testing.assert_allclose(
        np.asarray(inference["policy"]["vanilla"]), np.asarray(train_mode["policy"]["vanilla"]), atol=2e-4
    )
    stale = model.apply({"params": params, "batch_stats": raw_stats}, x, train=False)
    gap = np.abs(np.asarray(stale["policy"]["vanilla"]) - np.asarray(train_mode["policy"]["vanilla"]))
    assert gap.max() > 1e-2  # with the raw model's statistics the averaged weights are off


def test_bn_batches_0_keeps_the_raw_statistics(snaps):
    for ema, raw in zip(snaps["ema"], snaps["raw"]):
        for a, b in zip(leaves(ema.params["batch_stats"]), leaves(raw.params["batch_stats"])):
            np.testing.assert_array_equal(a, b)


def test_a_resumed_run_averages_as_an_uninterrupted_one(tmp_path, snaps):
    averages = (("swa", SWA),)
    first = run(tmp_path, BATCHES[:3], 3, averages)
    # the checkpoint of step 3 holds the average; the second run restores it with the trainer
    second = run(tmp_path, BATCHES[3:6], 6, averages)
    assert [s.step for s in first["swa"]] == [1, 2, 3]
    assert [s.step for s in second["swa"]] == [3, 4, 5, 6]  # step 3's network handed over again
    want = {s.step: s for s in snaps["swa"]}  # the uninterrupted run
    for snap in first["swa"] + second["swa"]:
        # weights and statistics (step 3's from the checkpoint, later ones from the resumed batches)
        for a, b in zip(leaves(snap.params), leaves(want[snap.step].params)):
            np.testing.assert_array_equal(a, b)
        assert snap.extra["averaged"] == want[snap.step].extra["averaged"]
