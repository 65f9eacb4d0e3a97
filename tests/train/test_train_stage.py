"""The train.jax stage on the real runtime classes: snapshots, checkpoints, resume."""

from __future__ import annotations

import threading
import time

import jsonschema
import numpy as np
import pytest
from helpers import TINY_RESNET, make_batch

from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
from lcpipe.train.settings import normalize_settings, settings_defaults
from lcpipe.train.stages import lcpipe_stage_types
from lcpipe.train.train_stage import TrainStage

# What the compiled train step depends on, shared by the tests below (one compilation, cached).
PROGRAM = {
    "model": TINY_RESNET,
    "schedule": {"lr": 0.01, "warmup_steps": 100},
}


class _StopAfter(InputPort):
    """The train input of a run that gets Ctrl-C while the trainer takes its ``n``-th batch."""

    def __init__(self, name, channel, stop, n):
        super().__init__(name, channel, stop)
        self.n = n
        self.taken = 0

    def get(self, timeout=None):
        item = super().get(timeout)
        self.taken += 1
        if self.taken == self.n:
            self._stop.set()
        return item


class _CommandAt(InputPort):
    """The train input of a run whose client sends ``command`` as the trainer takes its ``n``-th batch."""

    def __init__(self, name, channel, stop, n, send):
        super().__init__(name, channel, stop)
        self.n, self.send, self.taken = n, send, 0

    def get(self, timeout=None):
        item = super().get(timeout)
        self.taken += 1
        if self.taken == self.n:
            self.send()
        return item


class _SlowAfter(InputPort):
    """The train input of a loader that falls behind: from the ``n``-th batch on, each batch
    comes ``delay`` seconds after the trainer asks for it."""

    def __init__(self, name, channel, stop, n, delay):
        super().__init__(name, channel, stop)
        self.n, self.delay, self.taken = n, delay, 0

    def get(self, timeout=None):
        item = super().get(timeout)
        self.taken += 1
        if self.taken >= self.n:
            time.sleep(self.delay)  # the slow loader itself, not a wait for a condition
        return item


def run_stage(config, tmp_path, n_train=12, n_test=4, stop_at_batch=0, command_at=None, slow_after=None):
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
    train_port = (
        _StopAfter("train", train, stop, stop_at_batch) if stop_at_batch else InputPort("train", train, stop)
    )
    contexts = []
    if slow_after:
        train_port = _SlowAfter("train", train, stop, *slow_after)
    if command_at:
        n, command = command_at
        train_port = _CommandAt("train", train, stop, n, lambda: contexts[0].send_command(command))
    ctx = StageContext(
        "train",
        "train.jax",
        config,
        {"train": train_port, "test": InputPort("test", test, stop)},
        {"weights": OutputPort("weights", [out], stop)},
        bus,
        stop,
        tmp_path,
    )
    contexts.append(ctx)
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
    (st,) = [t for t in lcpipe_stage_types() if t.name == "train.jax"]
    assert st.input("train").required and not st.input("test").required
    assert st.output("weights").type == "weights"
    props = st.schema["properties"]
    for key, spec in props.items():
        assert "default" in spec and spec.get("description"), key
        for sub, subspec in spec.get("properties", {}).items():
            assert "default" in subspec and subspec.get("description"), f"{key}.{sub}"
    jsonschema.validate(settings_defaults(), st.schema)
    assert normalize_settings(settings_defaults()) == settings_defaults()


def test_stage_trains_emits_checkpoints_and_resumes(tmp_path):
    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 6,
            "steps_per_network": 3,
            "test_every": 3,
            "test_batches": 2,
            "metrics_every": 1,
            "checkpoint": {"every": 3, "async": True},
        }
    )
    snaps, bus = run_stage(config, tmp_path)
    assert [(s.step, s.kind) for s in snaps] == [(3, "raw"), (6, "raw")]
    assert snaps[0].model["body"] == "resnet" and "batch_stats" in snaps[0].params
    assert isinstance(snaps[-1].params["params"]["body"]["input"]["conv"]["kernel"], np.ndarray)
    steps = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [3, 6]
    metrics = bus.latest_metrics["train"]
    assert np.isfinite(metrics["train/loss"]) and np.isfinite(metrics["test/loss"])
    assert metrics["train/lr"] == pytest.approx(0.01 * 6 / 100)
    (st,) = [
        t for t in lcpipe_stage_types() if t.name == "train.jax"
    ]  # its one-line summary names its metrics
    assert st.summary and all(pattern in metrics for pattern in st.summary)

    # A second run with a larger budget resumes from step 6 (and ends at 9). Step 6 was a network
    # step: its network is handed over again first (the exporter skips it when already on disk).
    config = dict(config, total_steps=9)
    snaps2, _ = run_stage(config, tmp_path)
    assert [(s.step, s.kind) for s in snaps2] == [(6, "raw"), (9, "raw")]
    kernel = lambda snap: snap.params["params"]["body"]["input"]["conv"]["kernel"]
    assert np.array_equal(kernel(snaps2[0]), kernel(snaps[1]))  # the restored step 6, exactly
    assert not np.array_equal(kernel(snaps2[1]), kernel(snaps[1]))


def test_imported_net_carries_on_its_step_through_fine_tune_and_export(tmp_path):
    """lcpipe net import keeps lc0's training_steps; a fine-tune from it counts on from
    there (total_steps and intervals count the steps of this run), restarts its schedule,
    resumes with the same origin, and the exported nets carry on the count."""
    import argparse

    import jax

    from lcpipe.model import build_model
    from lcpipe.nets.cli import register
    from lcpipe.nets.export import export_snapshot, snapshot_to_net
    from lcpipe.nets.lc0net import read_net
    from lcpipe.types import NetworkSnapshot

    model = build_model(TINY_RESNET)
    variables = jax.tree.map(np.asarray, model.init(jax.random.PRNGKey(3), make_batch(2).inputs, train=False))
    src = export_snapshot(
        NetworkSnapshot(step=123_456, model=dict(model.cfg), params=variables),
        tmp_path / "src.pb.gz",
        "float32",
    )
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["net", "import", str(src), str(tmp_path / "imported")])
    assert args.handler(args) == 0
    assert sorted(p.name for p in (tmp_path / "imported").iterdir() if p.name.isdigit()) == ["123456"]

    config = normalize_settings(
        {
            **PROGRAM,
            "init_checkpoint": str(tmp_path / "imported"),
            "total_steps": 4,
            "steps_per_network": 2,
            "metrics_every": 1,
            "test_every": 0,
            "checkpoint": {"every": 2, "async": False},
        }
    )
    work = tmp_path / "run"
    work.mkdir()
    snaps, bus = run_stage(config, work)
    assert [s.step for s in snaps] == [123_458, 123_460]
    # the schedule restarted: after 4 applied updates the warmup is at 4/100 (not at step 123460)
    assert bus.latest_metrics["train"]["train/lr"] == pytest.approx(0.01 * 4 / 100)
    net, _ = snapshot_to_net(snaps[-1], "float32")
    assert net.training_params["training_steps"] == 123_460
    # a resume keeps the run's origin: total_steps 6 trains 2 more steps, not 123460 - 6
    snaps2, _ = run_stage(dict(config, total_steps=6), work)
    assert [s.step for s in snaps2] == [123_460, 123_462]  # the resumed network step again, then on
    path = export_snapshot(snaps2[-1], tmp_path / "out.pb.gz")
    assert read_net(path).training_params["training_steps"] == 123_462


def _export(snaps, template):
    """Run the real export.lc0 stage over these snapshots; the files it wrote, with their mtimes."""
    from lcpipe.export.lc0 import ExportStage
    from lcpipe.runtime.channels import LatestChannel

    stop = threading.Event()
    inp = StreamChannel("weights", capacity=64)
    for snap in snaps:
        inp.put(snap)
    inp.writer_done()
    ctx = StageContext(
        "export",
        "export.lc0",
        {"path": str(template), "encoding": "float32", "keep_last": 0, "kinds": [], "input_format": 0},
        {"weights": InputPort("weights", inp, stop)},
        {"network": OutputPort("network", [LatestChannel("network")], stop)},
        EventBus(),
        stop,
        template.parent,
    )
    ExportStage(ctx).run()
    return {p.name: p.stat().st_mtime_ns for p in template.parent.glob("*.pb.gz")}


def test_crash_between_checkpoint_and_export_loses_no_network(tmp_path):
    """A network step's checkpoint is written before its network goes out; a restart hands the
    resumed step's network over again and the exporter writes it only if it is missing: every
    network step is exported exactly once, the final one included."""
    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 6,
            "steps_per_network": 3,
            "test_every": 0,
            "checkpoint": {"every": 0, "async": True},
        }
    )
    work = tmp_path / "run"
    template = tmp_path / "nets" / "n-{step:04d}.pb.gz"
    snaps, _ = run_stage(config, work)
    assert [s.step for s in snaps] == [3, 6]
    # killed after the checkpoint of the final step 6, before the exporter got its network
    files = _export(snaps[:1], template)
    assert sorted(files) == ["n-0003.pb.gz"]
    again, _ = run_stage(config, work)  # the restart: nothing left to train, step 6 is handed over
    assert [(s.step, s.kind) for s in again] == [(6, "raw")]
    files = _export(again, template)
    assert sorted(files) == ["n-0003.pb.gz", "n-0006.pb.gz"]
    # another restart: step 6 handed over again, already on disk, not rewritten
    once_more, _ = run_stage(config, work)
    assert _export(once_more, template) == files


def test_clean_stop_emits_the_steps_since_the_last_network(tmp_path):
    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 100,
            "steps_per_network": 4,
            "test_every": 0,
            "checkpoint": {"every": 0, "async": True},
        }
    )
    # stopped as the 7th batch arrives: it is not trained, the 6 steps before are not lost
    snaps, _ = run_stage(config, tmp_path / "on", stop_at_batch=7)
    assert [s.step for s in snaps] == [4, 6]
    steps = sorted(int(p.name) for p in (tmp_path / "on" / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [4, 6]
    snaps, _ = run_stage(dict(config, export_on_stop=False), tmp_path / "off", stop_at_batch=7)
    assert [s.step for s in snaps] == [4]


def _progress_events(bus):
    got = []
    bus.subscribe(got.append, kinds={"progress"}).close()  # replays the run's events, then ends
    return [e.data for e in got]


def test_export_now_goes_out_once_and_its_checkpoint_says_so(tmp_path):
    """export_now right after a plain checkpoint of the same step: the checkpoint is rewritten as a
    network step (a restart hands that network over again, the exporter skips it if on disk)."""
    from lcpipe.train.trainer import Trainer

    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 3,
            "steps_per_network": 0,
            "test_every": 0,
            "metrics_every": 1,
            "checkpoint": {"every": 2, "async": True},
        }
    )
    snaps, bus = run_stage(config, tmp_path, command_at=(2, "export_now"))
    assert [s.step for s in snaps] == [2, 3]  # export_now at step 2, the end at 3
    trainer = Trainer(config)
    trainer.restore(str(tmp_path / "checkpoints"), step=2)
    assert trainer.checkpoint_meta["network_step"] == 2
    trainer.close()
    again, _ = run_stage(config, tmp_path)  # resumed at the final network step 3: handed over again
    assert [s.step for s in again] == [3]
    progress = _progress_events(bus)
    assert (
        progress[-1]["step"] == 3 and progress[-1]["total_steps"] == 3 and progress[-1]["next_network"] == 3
    )
    assert all(p["next_network"] == 3 for p in progress)  # no steps_per_network: the next network is the end


def test_progress_names_the_next_network_and_the_total(tmp_path):
    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 10,
            "steps_per_network": 4,
            "test_every": 0,
            "metrics_every": 1,
            "checkpoint": {"every": 0, "async": True},
        }
    )
    snaps, bus = run_stage(config, tmp_path)
    assert [s.step for s in snaps] == [4, 8, 10]
    progress = _progress_events(bus)
    # network steps and the last step are always reported; in between at most every 0.25 s
    at = {p["step"]: p for p in progress}
    assert {4, 8, 10} <= set(at)
    assert at[4]["next_network"] == 8 and at[8]["next_network"] == 10 and at[10]["total_steps"] == 10
    assert at[10]["loss"] is not None and at[10]["steps_per_s"] > 0


def test_export_now_before_the_first_step_exports_the_initial_weights(tmp_path):
    """A client may ask for a network while the trainer still waits for its first batch."""
    from lcpipe.runtime.channels import ChannelClosed
    from lcpipe.train.trainer import Trainer

    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": 4,
            "steps_per_network": 0,
            "test_every": 0,
            "checkpoint": {"every": 0, "async": False},
        }
    )
    stop, bus = threading.Event(), EventBus()
    train, out = StreamChannel("train", capacity=4), StreamChannel("weights", capacity=4)
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
    ctx.send_command("export_now")
    runner = threading.Thread(target=TrainStage(ctx).run)
    runner.start()
    try:
        snap = out.get(timeout=120)  # taken while no batch comes
        assert snap.step == 0 and snap.kind == "raw"
    finally:
        train.writer_done()  # no data at all: the trainer ends without another network
        runner.join(120)
    assert not runner.is_alive()
    out.writer_done()
    with pytest.raises(ChannelClosed):  # nothing after the one network
        out.get(timeout=5)
    trainer = Trainer(config)
    trainer.restore(str(tmp_path / "checkpoints"))
    assert trainer.step_count == 0 and trainer.checkpoint_meta["network_step"] == 0
    trainer.close()


def test_input_wait_share_says_when_the_loader_falls_behind(tmp_path):
    """train/input_wait_share: the share of the time the trainer waited for its batches. Ready
    batches (steps 1-3) cost next to nothing; a loader 0.2 s late per batch (steps 4-6) shows."""
    config = normalize_settings({**PROGRAM, "total_steps": 6, "steps_per_network": 6, "metrics_every": 3})
    _, bus = run_stage(config, tmp_path, n_train=6, slow_after=(4, 0.2))
    shares = {
        e.data["step"]: e.data["values"]["train/input_wait_share"]
        for e in bus.events("metrics")
        if e.stage == "train" and "train/input_wait_share" in e.data["values"]
    }
    assert sorted(shares) == [3, 6]
    assert 0 <= shares[3] < shares[6] <= 1
