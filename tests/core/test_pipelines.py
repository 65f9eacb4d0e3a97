"""Every spec shipped in pipelines/ validates, compiles and draws."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.compiler.render import render_dot, render_mermaid, render_text
from lcpipe.registry import load_registry

PIPELINES = sorted((Path(__file__).resolve().parents[2] / "pipelines").glob("*.yaml"))


def test_there_are_pipelines():
    assert any(p.name == "rl.yaml" for p in PIPELINES)


@pytest.mark.parametrize("path", PIPELINES, ids=[p.stem for p in PIPELINES])
def test_pipeline_validates_and_draws(path):
    registry = load_registry()
    assert not registry.problems, registry.problems
    plan = plan_pipeline(compile_file(path, registry=registry))
    text = render_text(plan)
    for name in plan.pipeline.graph.nodes:
        assert name in text
    if any(s.native for s in plan.segments):
        assert "native segment" in text
        assert "cluster_" in render_dot(plan)
    assert render_mermaid(plan).startswith("flowchart LR")


def test_cli_validates_all_pipelines():
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "validate", *map(str, PIPELINES)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok (pipeline") == len(PIPELINES)
