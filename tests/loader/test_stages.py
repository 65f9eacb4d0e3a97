"""Behaviour of each loader stage."""

from __future__ import annotations

import time

import numpy as np
from loader_testlib import build_chain, run_chain

from lcpipe import _native
from lcpipe.lc0 import chunks, synth, tensors


def test_split_is_deterministic_by_stable_hash(tmp_path):
    paths = synth.write_games(tmp_path, 30, seed=1, max_plies=4)
    train = [
        ("loader.read", {}),
        ("loader.split", {"train": 0.5, "test": 0.5, "seed": 7}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 1000}),
    ]
    result = run_chain(paths, train)
    expect = [p for p in paths if _native.unit_interval(p.name, 7) < 0.5]
    assert result.stats["s1_split/out"] == len(expect)
    assert len(result) == len(chunks.read_frames(expect))


def test_split_shards_give_every_game_to_exactly_one_process(tmp_path):
    """shards: N keeps the games whose name hashes (with another seed than the train/test draw)
    into shard `shard`: the shards of 3 processes are disjoint and together the whole train split."""
    paths = synth.write_games(tmp_path, 30, seed=4, max_plies=2)
    seed, salt = 7, 0x5348415244  # the shard hash's seed: the split's seed ^ "SHARD"
    train = [p for p in paths if _native.unit_interval(p.name, seed) < 0.8]
    kept = []
    for shard in range(3):
        chain = [
            ("loader.read", {}),
            ("loader.split", {"train": 0.8, "test": 0.2, "seed": seed, "shards": 3, "shard": shard}),
            ("loader.extract", {"shuffle": False}),
            ("loader.unpack", {"shuffle": False, "threads": 1}),
            ("loader.batch", {"batch_size": 1000}),
        ]
        result = run_chain(paths, chain)
        mine = [p for p in train if min(int(_native.unit_interval(p.name, seed ^ salt) * 3), 2) == shard]
        assert result.stats["s1_split/out"] == len(mine)
        assert len(result) == len(chunks.read_frames(mine))
        kept += mine
    assert sorted(kept) == sorted(train)
    assert 0 < len(kept) - len(mine) < len(train)  # the shards are not all one


def test_chunk_pool_keeps_newest_window_and_each_chunk_once_per_pass(tmp_path):
    paths = synth.write_games(tmp_path, 12, seed=2, max_plies=6)
    stages = [
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 5, "passes": 3, "min_chunks": 12, "start_after_idle_seconds": 5}),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 10000}),
    ]
    result = run_chain(paths, stages)
    newest = sorted(paths, key=lambda p: p.name)[-5:]
    per_pass = len(chunks.read_frames(newest))
    assert len(result) == 3 * per_pass
    assert result.stats["s1_chunk_pool/out"] == 15
    # every output row is a frame of one of the 5 newest games
    ref = tensors.frames_to_batch(chunks.read_frames(newest)).inputs.reshape(per_pass, -1)
    rows = {r.tobytes() for r in ref}
    assert all(r.tobytes() in rows for r in result.inputs.reshape(len(result), -1))


def test_chunk_pool_hanse_and_anchor_survive_restart(tmp_path):
    paths = synth.write_games(tmp_path / "g", 6, seed=3, max_plies=4)
    anchor = tmp_path / "anchor.txt"
    stages = [
        ("loader.read", {}),
        (
            "loader.chunk_pool",
            {
                "window": 100,
                "sampling": "hanse",
                "passes": 2,
                "wait_for_new": 6,
                "anchor_file": str(anchor),
                "start_after_idle_seconds": 0.1,
            },
        ),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 10000}),
    ]
    result = run_chain(paths, stages)
    assert {len(chunks.read_frames([p])) for p in paths} == {4}
    assert result.stats["s1_chunk_pool/out"] == 12  # 2 passes over 6 chunks: 12 draws
    assert result.stats["s1_chunk_pool/passes"] == 2
    assert len(result) == 12 * 4
    assert anchor.read_text().strip() == max(p.name for p in paths)
    # restart: no chunk is newer than the anchor, so nothing is emitted
    result2 = run_chain(paths, stages)
    assert len(result2) == 0
    more = synth.write_games(tmp_path / "g2", 6, seed=4, max_plies=4)
    result3 = run_chain(paths + more, stages)
    assert len(result3) > 0


def test_extract_one_pass_shuffled(tmp_path):
    paths = synth.write_games(tmp_path, 10, seed=5, max_plies=6)
    stages = [
        ("loader.read", {}),
        ("loader.extract", {"buffer": 4, "seed": 1}),
        ("loader.unpack", {"threads": 2}),
        ("loader.batch", {"batch_size": 7}),
    ]
    result = run_chain(paths, stages)
    ref = tensors.frames_to_batch(chunks.read_frames(paths))
    assert len(result) == len(ref)
    a = sorted(r.tobytes() for r in result.probabilities)
    b = sorted(r.tobytes() for r in ref.probabilities)
    assert a == b
    assert not np.array_equal(result.probabilities, ref.probabilities)  # order changed


def test_unpack_rate_decodes_each_chunk_once(tmp_path):
    paths = synth.write_games(tmp_path, 8, seed=6, max_plies=40)
    total = len(chunks.read_frames(paths))
    stages = [
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 100, "passes": 8, "min_chunks": 8}),
        ("loader.unpack", {"sampling_rate": 0.125, "threads": 1}),
        ("loader.batch", {"batch_size": 5000}),
    ]
    result = run_chain(paths, stages)
    assert abs(len(result) - total) <= 0.25 * total
    assert result.stats["s2_unpack/decoded"] <= 16  # ~ once per game, not once per visit (64)
    # across the 8 passes each position appears at most once (taken from the cached remainder)
    rows = [r.tobytes() for r in result.inputs.reshape(len(result), -1)]
    assert len(set(rows)) >= 0.9 * len(rows)


def test_reservoir_is_compact_and_passes_everything_at_end(tmp_path, lc0_fixtures):
    path = lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar"
    stages = [
        ("loader.read", {}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"threads": 1}),
        ("loader.reservoir", {"size": 3000, "min_fill": 1.0}),
        ("loader.batch", {"batch_size": 512}),
    ]
    seg, qin, qout = build_chain(stages)
    seg.start()
    seg.push_path(qin, str(path), 1.0)
    seg.close_input(qin)
    rows, slot = 0, None
    while True:
        status, arrays = seg.pop_batch(qout, 0.2)
        st = seg.stats()
        if st.get("s3_reservoir/bytes_per_slot"):
            slot = st["s3_reservoir/bytes_per_slot"]
        if status < 0:
            break
        if status == 1:
            rows += len(arrays[0])
    seg.stop()
    assert rows == 7029
    assert slot is not None and slot < 8396 / 4


def test_rescore_fills_v6_short_term_like_v7(tmp_path):
    v6 = synth.write_games(tmp_path / "v6", 3, seed=8, version=6, max_plies=20)
    v7 = synth.write_games(tmp_path / "v7", 3, seed=8, version=7, max_plies=20)
    stages = [
        ("loader.read", {"newest_first": False}),
        ("loader.extract", {"shuffle": False}),
        ("loader.rescore", {"threads": 1}),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 1000}),
    ]
    r6 = run_chain(v6, stages)
    ref7 = tensors.frames_to_batch(chunks.read_frames(v7))
    np.testing.assert_array_equal(r6.opponent_idx, ref7.opponent_idx)
    np.testing.assert_array_equal(r6.next_idx, ref7.next_idx)
    assert np.isfinite(r6.values[:, 5, :2]).all()
    np.testing.assert_array_equal(r6.inputs, ref7.inputs)
    # policy temperature keeps the policy a distribution
    hot = run_chain(
        v6, stages[:2] + [("loader.rescore", {"threads": 1, "policy_temperature": 2.0})] + stages[3:]
    )
    legal = hot.probabilities >= 0
    np.testing.assert_allclose(np.where(legal, hot.probabilities, 0).sum(1), 1.0, rtol=1e-5)
    assert not np.array_equal(hot.probabilities, r6.probabilities)


def test_watch_skips_dotfiles_and_sees_new_files(tmp_path):
    d = tmp_path / "w"
    synth.write_games(d, 2, seed=9, max_plies=4)
    (d / ".partial.gz").write_bytes(b"junk")
    (d / "notes.txt").write_text("x")
    stages = [
        ("loader.watch", {"dir": str(d), "poll_seconds": 0.1, "settle_seconds": 0.2}),
        ("loader.read", {}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1}),
    ]
    seg, _, qout = build_chain(stages, with_input=False)
    seg.start()
    try:
        deadline = time.monotonic() + 10
        while seg.stats()["s0_watch/out"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        synth.write_games(d / "sub", 1, seed=10, max_plies=4)
        while seg.stats()["s0_watch/out"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seg.stats()["s0_watch/out"] == 3
        assert seg.stats()["s0_watch/bad"] == 0
    finally:
        seg.stop()


def test_overflow_drop_newest_never_blocks_the_writer(tmp_path):
    paths = synth.write_games(tmp_path, 6, seed=11, max_plies=20)
    stages = [
        ("loader.read", {}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1, "queue": {"capacity": 4, "overflow": "drop_newest"}}),
    ]
    seg, qin, qout = build_chain(stages)
    seg.start()
    for p in paths:
        seg.push_path(qin, str(p), 1.0)
    seg.close_input(qin)
    deadline = time.monotonic() + 10
    while seg.stats()["s2_unpack/out"] < len(chunks.read_frames(paths)) and time.monotonic() < deadline:
        time.sleep(0.05)  # nobody reads batches: unpack must still finish
    stats = seg.stats()
    seg.stop()
    assert stats["s2_unpack/out"] == len(chunks.read_frames(paths))
    assert stats["queue/s3_batch.frames/dropped"] > 0


def test_merge_combines_frame_streams(tmp_path):
    from loader_testlib import Member, defaults

    from lcpipe.compiler.compile import Link
    from lcpipe.loader import segment as lseg

    a = synth.write_games(tmp_path / "a", 2, seed=12, max_plies=5)
    b = synth.write_games(tmp_path / "b", 3, seed=13, max_plies=5)
    ms = [
        Member("ra", "loader.read", defaults("loader.read")),
        Member("rb", "loader.read", defaults("loader.read")),
        Member("ea", "loader.extract", defaults("loader.extract")),
        Member("eb", "loader.extract", defaults("loader.extract")),
        Member("ua", "loader.unpack", defaults("loader.unpack")),
        Member("ub", "loader.unpack", defaults("loader.unpack")),
        Member("m", "loader.merge", defaults("loader.merge")),
        Member("bt", "loader.batch", defaults("loader.batch")),
    ]
    links = [
        Link("ra", "sources", "ea", "sources", "chunk_sources", "stream"),
        Link("rb", "sources", "eb", "sources", "chunk_sources", "stream"),
        Link("ea", "chunks", "ua", "chunks", "chunks", "stream"),
        Link("eb", "chunks", "ub", "chunks", "chunks", "stream"),
        Link("ua", "frames", "m", "frames", "frames", "stream"),
        Link("ub", "frames", "m", "frames", "frames", "stream"),
        Link("m", "frames", "bt", "frames", "frames", "stream"),
    ]
    q, d, ins, outs = lseg.describe(
        ms, links, lambda k: k in ("ra.paths", "rb.paths"), lambda k: k == "bt.batches"
    )
    seg = _native.loader.Segment(q, d)
    seg.start()
    for p in a:
        seg.push_path("ra.paths", str(p), 1.0)
    for p in b:
        seg.push_path("rb.paths", str(p), 1.0)
    seg.close_input("ra.paths")
    seg.close_input("rb.paths")
    rows = 0
    while True:
        status, arrays = seg.pop_batch("out:bt.batches", 1.0)
        if status < 0:
            break
        if status == 1:
            rows += len(arrays[0])
    seg.stop()
    assert rows == len(chunks.read_frames(a + b))
