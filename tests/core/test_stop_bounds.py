"""A --stop-after bound must name something the pipeline counts: an unknown
target is rejected at start with the valid ones, never a run that cannot stop."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.runtime.runner import Runtime, StopBound, stop_targets

SPEC = """\
lcpipe: 1
name: t
stages:
  games: {use: data.generate, with: {games: 2, max_plies: 4, out_dir: "OUT"}}
  batches: {use: data.batches, from: games, with: {batch_size: 4}}
"""


def _plan(tmp_path: Path, registry):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC).replace("OUT", str(tmp_path / "games")))
    return path, plan_pipeline(compile_file(path, registry=registry))


def test_valid_targets_are_what_the_stages_produce(tmp_path, registry):
    _, plan = _plan(tmp_path, registry)
    assert stop_targets(plan.pipeline) == ["seconds", "batches", "paths", "batches.batches", "games.paths"]


@pytest.mark.parametrize("target", ["steps", "foo", "networks", "games.batches", "train.weights"])
def test_an_unknown_target_is_rejected_with_the_valid_ones(tmp_path, registry, target):
    _, plan = _plan(tmp_path, registry)
    with pytest.raises(
        ValueError, match=f"nothing in this pipeline produces '{target}'; valid: seconds, batches"
    ):
        Runtime(plan, stop_after=[StopBound.parse(f"{target}=1")])


@pytest.mark.parametrize("target", ["seconds", "batches", "paths", "games.paths"])
def test_known_targets_are_accepted(tmp_path, registry, target):
    _, plan = _plan(tmp_path, registry)
    Runtime(plan, stop_after=[StopBound.parse(f"{target}=1")])


def test_cli_exits_2_at_start_on_an_unknown_target(tmp_path, registry):
    path, _ = _plan(tmp_path, registry)
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "run", str(path), "--stop-after", "steps=10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert (
        "--stop-after steps=10: nothing in this pipeline produces 'steps'; valid: seconds, batches, paths"
        in done.stderr
    )
    assert not (tmp_path / "games").exists()  # rejected before any stage ran
