"""`lcpipe plan`: its estimates against what a real run holds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lcpipe import _native
from lcpipe.cli.main import main as run_cli
from lcpipe.compiler.compile import Link
from lcpipe.data.rescore_files import stage_settings
from lcpipe.loader import segment as lseg
from lcpipe.planning.calibrate import calibrate
from lcpipe.planning.loader_memory import frame_bytes, loader_estimates
from lcpipe.planning.trainer_memory import plan_trainer
from lcpipe.train.settings import normalize_settings

TINY = dict(body="resnet", filters=8, blocks=1, se_ratio=2, value_channels=4, value_hidden=8)


@dataclass
class _Member:
    name: str
    stage_type: str
    config: dict
    queue: dict = field(default_factory=dict)


def test_trainer_state_is_predicted_to_the_byte(tmp_path):
    settings = normalize_settings({"model": TINY})
    plan = plan_trainer(settings, batch_size=16)
    real = calibrate(settings, batch_size=16, steps=2)
    assert sum(plan.state_bytes.values()) == real.state_bytes
    averaged = plan_trainer(settings, batch_size=16, averages=("swa", "ema"))  # each a copy of the weights
    want = plan.state_bytes["params"] + plan.state_bytes["batch_stats"]
    assert averaged.state_bytes["swa"] == averaged.state_bytes["ema"] == want
    assert real.steps_per_s > 0 and real.positions_per_s == real.steps_per_s * 16
    assert real.step_temp_bytes is not None and real.step_temp_bytes > 0  # XLA reports it on every backend


def test_reservoir_memory_matches_the_loaders_own_count(lc0_fixtures):
    size = 3000
    chain = [
        ("read", "loader.read", {"newest_first": False}),
        ("extract", "loader.extract", {"shuffle": False}),
        ("unpack", "loader.unpack", {"threads": 1}),
        ("pool", "loader.reservoir", {"size": size, "min_fill": 1.0}),  # fills up before it emits
        ("batch", "loader.batch", {"batch_size": 64, "queue": {"capacity": 64}}),
    ]
    members = [_Member(n, t, stage_settings(t, c)) for n, t, c in chain]
    links = [
        Link("read", "sources", "extract", "sources", "chunk_sources", "stream"),
        Link("extract", "chunks", "unpack", "chunks", "chunks", "stream"),
        Link("unpack", "frames", "pool", "frames", "frames", "stream"),
        Link("pool", "frames", "batch", "frames", "frames", "stream"),
    ]
    queues, stages, ins, _ = lseg.describe(
        members, links, lambda k: k == "read.paths", lambda k: k == "batch.batches"
    )
    seg = _native.loader.Segment(queues, stages)
    seg.start()
    measured = None
    try:
        while (
            seg.push_path(ins["read.paths"], str(lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar"), 0.1)
            == 0
        ):
            pass
        seg.close_input(ins["read.paths"])
        deadline = time.monotonic() + 120
        # Nothing is popped: back-pressure holds the reservoir full (7029 positions come in; it
        # and the queues after it take about 3,300), as in a long run.
        while measured is None and time.monotonic() < deadline:
            stats = seg.stats()
            if stats.get("pool/fill", 0) >= size - 1:  # full: one slot is always in flight
                measured = stats["pool/mb"] * 2**20
            time.sleep(0.05)
    finally:
        seg.stop()
    assert measured is not None, "the reservoir did not fill"
    (estimate,) = [e for e in loader_estimates("pool", "loader.reservoir", members[3].config) if not e.bound]
    assert estimate.bytes >= measured  # never below what the loader holds
    assert abs((size - 1) * frame_bytes() - measured) / measured < 0.05


def test_plan_command_prints_every_buffer_and_the_trainer(tmp_path, capsys):
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "lcpipe: 1\nname: p\nstages:\n"
        "  files: {use: loader.watch, with: {dir: games}}\n"
        "  read: {use: loader.read, from: files}\n"
        "  chunks: {use: loader.chunk_pool, from: read, with: {window: 1000}}\n"
        "  frames: {use: loader.unpack, from: chunks, with: {cache_mb: 64}}\n"
        "  shuffled: {use: loader.reservoir, from: frames, with: {size: 10000}}\n"
        "  batches: {use: loader.batch, from: shuffled, with: {batch_size: 32}}\n"
        "  train: {use: train.jax, from: {train: batches}, with: {model: {body: resnet, filters: 8, blocks: 1}}}\n"
    )
    assert run_cli(["plan", str(spec), "--no-calibrate"]) == 0
    out = capsys.readouterr().out
    assert "frames                 64.0 MiB at most  cache of decoded positions (cache_mb)" in out
    assert "10,000 positions" in out and "4 batches of 32 handed to Python" in out
    assert "device memory, train (" in out and "batch 32):" in out
    assert run_cli(["plan", str(tmp_path / "missing.yaml")]) == 2
