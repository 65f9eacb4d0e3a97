"""The train.jax stage on the real runtime classes: snapshots, checkpoints, resume."""

from __future__ import annotations

import threading

import jsonschema
import pytest
import numpy as np

from helpers import TINY_RESNET, make_batch
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
from lcpipe.train.settings import normalize_settings, settings_defaults
from lcpipe.train.stage import TrainStage
from lcpipe.train.stages import lcpipe_stage_types


def run_stage(config, tmp_path, n_train=12, n_test=4):
    stop = threading.Event()
    bus = EventBus()
    train, test = StreamChannel("train", capacity=64), StreamChannel("test", capacity=64)
    out = StreamChannel("weights", capacity=64)
    for i in range(n_train):
        train.put(make_batch(8, seed=i % 4))
    for i in range(n_test):
        test.put(make_batch(8, seed=100 + i))
    train.writer_done()
    test.writer_done()
    ctx = StageContext("train", "train.jax", config, {"train": InputPort("train", train, stop),
                                                      "test": InputPort("test", test, stop)},
                       {"weights": OutputPort("weights", [out], stop)}, bus, stop, tmp_path)
    TrainStage(ctx).run()
    out.writer_done()
    snaps = []
    while True:
        try:
            snaps.append(out.get(timeout=0.1))
        except Exception:
            break
    return snaps, bus


def test_stage_declaration_schema_has_defaults_and_descriptions():
    (st,) = lcpipe_stage_types()
    assert st.name == "train.jax" and st.input("train").required and not st.input("test").required
    assert st.output("weights").type == "weights"
    props = st.schema["properties"]
    for key, spec in props.items():
        assert "default" in spec and spec.get("description"), key
        for sub, subspec in spec.get("properties", {}).items():
            assert "default" in subspec and subspec.get("description"), f"{key}.{sub}"
    jsonschema.validate(settings_defaults(), st.schema)
    assert normalize_settings(settings_defaults()) == settings_defaults()


def test_stage_trains_emits_checkpoints_and_resumes(tmp_path):
    config = normalize_settings({
        "model": TINY_RESNET, "total_steps": 6, "steps_per_network": 3, "test_every": 3, "test_batches": 2,
        "metrics_every": 1, "swa": {"enabled": True, "period": 1}, "checkpoint": {"every": 3, "async": True},
        "schedule": {"lr": 0.01}})
    snaps, bus = run_stage(config, tmp_path)
    assert [(s.step, s.kind) for s in snaps] == [(3, "raw"), (3, "swa"), (6, "raw"), (6, "swa")]
    assert snaps[0].model["body"] == "resnet" and "batch_stats" in snaps[0].params
    assert isinstance(snaps[-1].params["params"]["body"]["input"]["conv"]["kernel"], np.ndarray)
    steps = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [3, 6]
    metrics = bus.latest_metrics["train"]
    assert np.isfinite(metrics["train/loss"]) and np.isfinite(metrics["test/loss"])
    assert np.isfinite(metrics["test_swa/loss"]) and metrics["train/lr"] == pytest.approx(0.01)

    # A second run with a larger budget resumes from step 6 (and ends at 9).
    config = dict(config, total_steps=9)
    snaps2, _ = run_stage(config, tmp_path)
    assert [(s.step, s.kind) for s in snaps2] == [(9, "raw"), (9, "swa")]
    assert not np.array_equal(snaps2[0].params["params"]["body"]["input"]["conv"]["kernel"],
                              snaps[2].params["params"]["body"]["input"]["conv"]["kernel"])
