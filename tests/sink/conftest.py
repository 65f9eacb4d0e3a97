"""The sink tests run real pipelines of the core tests' toy stages."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

import toy_stages

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.registry import load_registry
from lcpipe.runtime.runner import Runtime, StopBound


@pytest.fixture
def make_runtime(tmp_path):
    registry = load_registry(extra=(toy_stages,))

    def make(body: str, stop_after=(), grace: float = 10.0) -> Runtime:
        path = tmp_path / "spec.yaml"
        path.write_text("lcpipe: 1\nname: sinktest\n" + textwrap.dedent(body))
        plan = plan_pipeline(compile_file(path, registry=registry))
        return Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], grace=grace)

    return make
