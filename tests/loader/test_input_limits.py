"""Bounded inputs: a gzip bomb or a huge file among the data is counted bad once, reported with
its name, and skipped; the good data around it loads as if it were not there, and memory stays
bounded by the limits (loader.unpack's max_chunk_mb / max_file_mb)."""

from __future__ import annotations

import resource
import zlib

from loader_testlib import in_order, run_chain

from lcpipe.lc0 import chunks, synth

GIB = 1 << 30


def gzip_bomb(path, size: int = GIB):
    """A valid gzip stream of `size` zero bytes (about 1 MB on disk per GiB)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(comp.compress(block))
        f.write(comp.flush())
    return path


def _with_unpack(overrides: dict):
    stages = in_order()
    stages[2] = ("loader.unpack", {**stages[2][1], **overrides})
    return stages


def test_gzip_bomb_and_huge_file_are_skipped_with_bounded_memory(tmp_path):
    good = synth.write_games(tmp_path / "good", 3, seed=5, input_format=1, version=6, max_plies=20)
    bomb = gzip_bomb(tmp_path / "bomb.gz")
    sparse = tmp_path / "sparse.gz"
    with open(sparse, "wb") as f:
        f.truncate(3 * GIB)  # a 3 GiB file that takes no disk space
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    for inflater in ("native", "zlib"):
        result = run_chain([bomb, good[0], sparse, *good[1:]], _with_unpack({"inflater": inflater}))
        assert len(result) == len(chunks.read_frames(good)), inflater
        assert result.stats["s2_unpack/bad"] == 2, inflater
        text = "\n".join(result.problems)
        assert str(bomb) in text and "size limit" in text
        assert str(sparse) in text and "max_file_mb" in text
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < 400, f"peak RSS grew by {grown_mib:.0f} MiB"


def test_chunk_limit_is_a_setting(tmp_path):
    good = synth.write_games(tmp_path / "good", 2, seed=7, input_format=1, version=6, max_plies=40)
    biggest = max(len(zlib.decompress(p.read_bytes(), 16 + zlib.MAX_WBITS)) for p in good)
    # a limit just below the bigger game refuses it, the default takes both
    tight = run_chain(good, _with_unpack({"max_chunk_mb": (biggest - 1) / (1 << 20)}))
    assert tight.stats["s2_unpack/bad"] >= 1 and len(tight) < len(chunks.read_frames(good))
    assert len(run_chain(good, in_order())) == len(chunks.read_frames(good))


def test_bad_chunks_are_counted_once_and_leave_the_pool(tmp_path):
    """A chunk pool serves its chunks pass after pass: a bad one is counted and reported once,
    then evicted, not decoded (and counted) again on every pass."""
    good = synth.write_games(tmp_path / "good", 3, seed=5, input_format=1, version=6, max_plies=20)
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"not gzip" * 100)
    bomb = gzip_bomb(tmp_path / "bomb.gz", 64 << 20)
    stages = [
        ("loader.read", {"newest_first": False}),
        ("loader.chunk_pool", {"passes": 6, "shuffle": False, "min_chunks": 5}),
        # a short queue: the pool cannot run all its passes ahead of the decoder
        (
            "loader.unpack",
            {
                "shuffle": False,
                "threads": 1,
                "cache_mb": 0,
                "max_chunk_mb": 16,
                "queue": {"capacity": 1, "overflow": "block"},
            },
        ),
        ("loader.batch", {"batch_size": 7, "threads": 1}),
    ]
    result = run_chain([garbage, *good, bomb], stages)
    assert result.stats["s2_unpack/bad"] == 2
    assert result.stats["s1_chunk_pool/skipped"] == 2  # both evicted
    assert result.stats["s1_chunk_pool/size"] == 3
    assert len(result) == 6 * len(chunks.read_frames(good))  # every good game in each of the 6 passes
    assert sum(str(garbage) in p for p in result.problems) == 1
