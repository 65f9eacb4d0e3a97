"""Whether a loader output's batch stream is a function of the data and the seeds alone: a
resumed trainer moves only such a stream to the checkpoint's batch number (docs/run-integrity.md,
"Exact resume"). Judged on the shipped pipelines, compiled as `lcpipe run` compiles them."""

from __future__ import annotations

from pathlib import Path

from lcpipe.compiler.compile import compile_file
from lcpipe.compiler.plan import plan_pipeline
from lcpipe.loader.stream_position import not_reproducible
from lcpipe.runtime.runner import SegmentMember

REPO = Path(__file__).resolve().parents[2]


def why_not(spec: str, output_stage: str, *overrides: str) -> str:
    plan = plan_pipeline(compile_file(REPO / "pipelines" / spec, list(overrides)))
    seg = plan.segment_of(output_stage)
    g = plan.pipeline.graph
    members = [SegmentMember(n, g.nodes[n]["use"], g.nodes[n]["config"]) for n in seg.stages]
    return not_reproducible(output_stage, members, seg.internal)


def test_sl_yaml_training_stream_is_reproducible():
    assert why_not("sl.yaml", "batches") == ""


def test_sl_yaml_with_several_batching_threads_is_not():
    assert (
        why_not("sl.yaml", "batches", "stages.batches.with.threads=2") == "batches cuts batches on 2 threads"
    )


def test_sl_yaml_pool_started_by_an_idle_timer_is_not():
    why = why_not("sl.yaml", "batches", "stages.chunks.with.start_after_idle_seconds=1")
    assert why == "chunks may start before its input ends (min_chunks, start_after_idle_seconds)"


def test_rl_yaml_training_stream_is_not_and_says_why():
    why = why_not("rl.yaml", "batches")
    assert "keeps watching its directory (follow: true)" in why
    assert "may start before its input ends" in why
