"""The dashboard tests run real pipelines of the core tests' toy stages."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"
sys.path.insert(0, str(CORE))

import toy_stages  # noqa: E402

from lcpipe.compiler import compile_file, plan_pipeline  # noqa: E402
from lcpipe.registry import load_registry  # noqa: E402
from lcpipe.runtime.runner import Runtime, StopBound  # noqa: E402


@pytest.fixture
def registry():
    return load_registry(extra=(toy_stages,))


@pytest.fixture
def make_runtime(tmp_path, registry):
    """Runtime for a spec body (the `stages:` block), with a short grace period."""

    def make(body: str, stop_after=(), grace: float = 10.0) -> Runtime:
        path = tmp_path / "spec.yaml"
        path.write_text("lcpipe: 1\nname: tuitest\n" + textwrap.dedent(body))
        plan = plan_pipeline(compile_file(path, registry=registry))
        return Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], grace=grace)

    return make
