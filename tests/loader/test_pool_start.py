"""loader.chunk_pool's first output: min_chunks is a floor while a watched
directory still grows; the idle start only replaces a full window."""

from __future__ import annotations

import time

from loader_testlib import Member, build_chain, run_chain

from lcpipe.lc0 import synth

IDLE = 0.2


def watched_pool(d, **pool):
    stages = [
        ("loader.watch", {"dir": str(d), "mode": "poll", "poll_seconds": 0.05, "settle_seconds": 0.05}),
        ("loader.read", {}),
        ("loader.chunk_pool", pool),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1}),
    ]
    seg, _, qout = build_chain(stages, with_input=False)
    seg.start()
    return seg, qout


def wait_until(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def idle_for(seconds):
    """Waits until `seconds` have passed from now (a bound the pool must outlast)."""
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 >= seconds)


def test_growing_directory_never_starts_below_min_chunks(tmp_path):
    d = tmp_path / "games"
    synth.write_games(d, 4, seed=1, max_plies=4)
    seg, qout = watched_pool(d, window=100, min_chunks=8, start_after_idle_seconds=IDLE)
    try:
        wait_until(lambda: seg.stats()["s2_chunk_pool/in"] == 4)
        idle_for(10 * IDLE)  # the input has been idle far beyond start_after_idle_seconds
        st = seg.stats()
        assert st["s2_chunk_pool/out"] == 0 and st["s2_chunk_pool/started"] == 0
        assert seg.pop_batch(qout, 0.0)[0] == 0
        synth.write_games(d, 4, seed=2, max_plies=4)
        wait_until(lambda: seg.stats()["s2_chunk_pool/out"] > 0)
        st = seg.stats()
        assert st["s2_chunk_pool/started"] == 1 and st["s2_chunk_pool/games_seen"] == 8
        assert any("started on 8 chunks" in p for p in seg.problems())
    finally:
        seg.stop()


def test_idle_start_replaces_only_a_full_window(tmp_path):
    d = tmp_path / "games"
    synth.write_games(d, 3, seed=3, max_plies=4)
    seg, _ = watched_pool(d, window=100, min_chunks=0, start_after_idle_seconds=IDLE)
    try:
        wait_until(
            lambda: seg.stats()["s2_chunk_pool/out"] > 0
        )  # a finished directory smaller than the window
        assert seg.stats()["s2_chunk_pool/games_seen"] == 3
    finally:
        seg.stop()


def test_idle_start_off_waits_for_a_full_window(tmp_path):
    d = tmp_path / "games"
    synth.write_games(d, 3, seed=4, max_plies=4)
    seg, _ = watched_pool(d, window=5, min_chunks=0, start_after_idle_seconds=0)
    try:
        wait_until(lambda: seg.stats()["s2_chunk_pool/in"] == 3)
        idle_for(1.0)
        assert seg.stats()["s2_chunk_pool/out"] == 0
        synth.write_games(d, 2, seed=5, max_plies=4)
        wait_until(lambda: seg.stats()["s2_chunk_pool/out"] > 0)
    finally:
        seg.stop()


def test_ended_input_starts_below_min_chunks(tmp_path):
    paths = synth.write_games(tmp_path, 3, seed=6, max_plies=4)
    stages = [
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 100, "min_chunks": 50, "passes": 2}),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1000}),
    ]
    result = run_chain(paths, stages)  # a fixed data set: the input ends after the last path
    assert result.stats["s1_chunk_pool/out"] == 6
    assert any("input ended" in p for p in result.problems)


def test_each_output_counts_the_games_of_its_own_pools():
    from pathlib import Path

    from lcpipe.compiler import compile_file, plan_pipeline
    from lcpipe.loader.segment import upstream_pools
    from lcpipe.registry import load_registry

    rl = Path(__file__).resolve().parents[2] / "pipelines" / "rl.yaml"
    plan = plan_pipeline(compile_file(rl, registry=load_registry()))
    (seg,) = [s for s in plan.segments if s.native]
    members = [Member(n, plan.pipeline.graph.nodes[n]["use"]) for n in seg.stages]
    assert upstream_pools("batches", members, seg.internal) == ["pool"]
    assert upstream_pools("test_batches", members, seg.internal) == ["test_pool"]
