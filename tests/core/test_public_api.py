"""The one public surface for stage and plugin authors, and the testing kit built on it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import lcpipe.plugin
from lcpipe.testing import run_spec, run_stage

sys.path.insert(0, str(Path(__file__).parent))
import toy_stages

PUBLIC = {
    "hookimpl",
    "hookspec",
    "Port",
    "StageType",
    "settings",
    "field",
    "group",
    "Problem",
    "EdgeKind",
    "Stage",
    "StageContext",
    "StageFailed",
    "InputPort",
    "OutputPort",
    "ChannelClosed",
    "Event",
    "PORT_TYPES",
    "Batch",
    "Chunk",
    "ExportedNetwork",
    "NetworkSnapshot",
}


def test_public_names_are_exactly_the_intended_ones():
    assert set(lcpipe.plugin.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(lcpipe.plugin, name) is not None, name


def test_public_names_are_the_runtime_objects_themselves():
    from lcpipe.runtime.stage import Stage
    from lcpipe.types import Batch

    assert lcpipe.plugin.Stage is Stage
    assert lcpipe.plugin.Batch is Batch


def test_run_stage_feeds_inputs_and_collects_outputs():
    out = run_stage("toy.scale", {"factor": 5}, inputs={"numbers": range(40)}, plugins=(toy_stages,))
    assert out.exit_code == 0, out.failures
    assert out.outputs["numbers"] == [5 * i for i in range(40)]


def test_run_stage_on_a_builtin_stage_with_real_files(tmp_path):
    games = run_stage("data.generate", {"out_dir": str(tmp_path / "g"), "games": 6, "seed": 3})
    assert games.exit_code == 0, games.failures
    paths = games.outputs["paths"]
    assert len(paths) == 6 and all(Path(p).is_file() for p in paths)
    batches = run_stage(
        "data.batches", {"batch_size": 16, "passes": 1, "shuffle": False}, inputs={"paths": paths}
    )
    assert batches.exit_code == 0, batches.failures
    got = batches.outputs["batches"]
    assert got and all(len(b) == 16 for b in got)
    assert all(np.isfinite(b.inputs).all() for b in got)


def test_run_spec_collects_metrics_and_counts(tmp_path):
    out_file = tmp_path / "out.json"
    spec = f"""
lcpipe: 1
name: kit
stages:
  src: {{use: toy.count, with: {{limit: 25}}}}
  sink: {{use: toy.collect, from: src, with: {{path: "{out_file}"}}}}
"""
    out = run_spec(spec, plugins=(toy_stages,))
    assert out.exit_code == 0, out.failures
    assert out.counts["src.numbers"] == 25
    assert out.last_metrics("sink")["received"] == 25
