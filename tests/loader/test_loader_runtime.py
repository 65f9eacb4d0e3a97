"""Loader specs through the real compiler and runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.runtime.runner import Runtime, StopBound

SPECS = Path(__file__).parent / "specs"


def test_spec_runs_as_one_native_segment_and_delivers_batches(tmp_path, registry):
    spec = tmp_path / "spec.yaml"
    text = (SPECS / "generate_train.yaml").read_text().replace("runs/loader-demo", str(tmp_path / "run"))
    spec.write_text(text)
    plan = plan_pipeline(compile_file(spec, registry=registry))
    native = [s for s in plan.segments if s.native]
    assert len(native) == 1 and len(native[0].stages) == 10
    events = []
    rt = Runtime(plan, stop_after=[StopBound.parse("batches.batches=3")])
    rt.bus.subscribe(events.append, kinds={"metrics"})
    result = rt.run(install_signals=False)
    assert result.exit_code == 0, result.failures
    assert result.counts.get("batches.batches", 0) >= 3
    summary = json.loads((tmp_path / "run" / "sink.json").read_text())
    assert summary["rows"] >= 3 * 32 and summary["shapes"][0] == [32, 112, 8, 8]
    np.testing.assert_allclose(summary["policy_sums"], 1.0, rtol=1e-5)
    assert result.elapsed < 60
    loader_metrics = [e for e in events if getattr(e, "stage", "") == "native0"]
    assert loader_metrics, "the segment published no metrics"
