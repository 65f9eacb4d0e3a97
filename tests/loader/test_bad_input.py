"""Bad input is counted, logged once with the file name, and skipped: the
loader never crashes or stalls on it."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from loader_testlib import in_order, run_chain

from lcpipe.lc0 import chunks, synth, tensors


def good_games(tmp_path, n=3):
    return synth.write_games(tmp_path / "good", n, seed=5, input_format=1, version=6, max_plies=20)


def good_count(paths):
    return len(chunks.read_frames(paths))


def test_corrupt_and_truncated_gzip_are_skipped(tmp_path):
    good = good_games(tmp_path)
    data = good[0].read_bytes()
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(data[:10] + bytes(b ^ 0x5A for b in data[10:60]) + data[60:])
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.gz"
    empty.write_bytes(b"")
    result = run_chain([corrupt, *good, truncated, empty], in_order())
    # good files fully; the truncated one keeps whole records decoded before the damage
    assert len(result) >= good_count(good)
    assert result.stats["s2_unpack/bad"] == 3
    text = "\n".join(result.problems)
    for p in (corrupt, truncated, empty):
        assert str(p) in text


def test_wrong_sizes_nan_and_unknown_versions(tmp_path):
    good = good_games(tmp_path, 1)
    raw = gzip.decompress(good[0].read_bytes())
    frames = np.frombuffer(raw, dtype=np.dtype((np.void, 8356))).copy()
    n = len(frames)
    # a trailing partial record
    partial = tmp_path / "partial.gz"
    partial.write_bytes(gzip.compress(raw + raw[:100]))
    # NaN in the policy of frame 1, an unknown input format in frame 2
    arr = np.frombuffer(bytearray(raw), dtype=np.uint8).reshape(n, 8356).copy()
    arr[1, 8:12] = np.frombuffer(np.float32(np.nan).tobytes(), np.uint8)
    arr[2, 4:8] = np.frombuffer(np.uint32(77).tobytes(), np.uint8)
    nan = tmp_path / "nan.gz"
    nan.write_bytes(gzip.compress(arr.tobytes()))
    # garbage version
    version = tmp_path / "version.gz"
    version.write_bytes(gzip.compress(b"\x09\x00\x00\x00" + b"\x00" * 9000))
    result = run_chain([partial, nan, version], in_order())
    assert len(result) == n + (n - 2)
    assert result.stats["s2_unpack/bad"] == 3
    assert result.stats["s2_unpack/skipped"] >= 2 + 1  # two bad frames + the version chunk
    ref = tensors.frames_to_batch(
        chunks.read_frames(
            [partial, nan], report=__import__("lcpipe.lc0.report", fromlist=["ReadReport"]).ReadReport()
        )
    )
    np.testing.assert_array_equal(result.inputs, ref.inputs)


def test_truncated_tar_and_garbage_tar(tmp_path, lc0_fixtures):
    data = (lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar").read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: len(data) // 3])
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(5000))
    result = run_chain([cut, junk], in_order())
    # members before the cut are read; the truncated one and the junk are reported
    assert 0 < len(result) < 7029
    assert result.stats["s0_read/bad"] >= 2
    text = "\n".join(result.problems)
    assert str(cut) in text and str(junk) in text


def test_deleted_and_missing_files(tmp_path):
    good = good_games(tmp_path, 2)
    gone = tmp_path / "gone.gz"
    gone.write_bytes(good[0].read_bytes())
    os.unlink(gone)
    result = run_chain([gone, tmp_path / "never.tar", *good], in_order())
    assert len(result) == good_count(good)
    assert result.stats["s2_unpack/bad"] == 1  # the .gz, at read time
    assert result.stats["s0_read/bad"] == 1  # the tar, at open time
    assert any("gone.gz" in p for p in result.problems)


def test_file_deleted_while_pool_holds_it(tmp_path):
    """Deterministic: the pool holds all six chunks but cannot start (min_chunks is one more, the
    input stays open, the idle start is far off) until the file is gone; then every visit of
    the deleted chunk fails, it is counted once and leaves the pool."""
    paths = synth.write_games(tmp_path, 6, seed=2, max_plies=10)
    stages = [
        ("loader.read", {}),
        (
            "loader.chunk_pool",
            {"window": 100, "passes": 3, "min_chunks": 7, "start_after_idle_seconds": 3600},
        ),
        # a short queue: the pool cannot run its passes ahead of the decoder, so it sees
        # the deleted chunk again after it failed and evicts it
        ("loader.unpack", {"threads": 2, "queue": {"capacity": 1, "overflow": "block"}}),
        ("loader.batch", {"batch_size": 8}),
    ]
    import time

    from loader_testlib import build_chain

    seg, qin, qout = build_chain(stages)
    seg.start()
    try:
        for p in paths:
            assert seg.push_path(qin, str(p), 10.0) == 1
        deadline = time.monotonic() + 60
        while seg.stats()["s1_chunk_pool/size"] < 6:  # wait on the condition, not on time
            assert time.monotonic() < deadline, "the pool never received the chunks"
            time.sleep(0.01)
        assert seg.stats()["s2_unpack/in"] == 0  # nothing was decoded yet
        os.unlink(paths[0])
        seg.close_input(qin)  # the pool starts now
        rows = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, arrays = seg.pop_batch(qout, 0.1)
            if status < 0:
                break
            if status == 1:
                rows += len(arrays[0])
        stats = seg.stats()
    finally:
        seg.stop()
    assert status < 0, "stream did not end"
    expected = 3 * len(chunks.read_frames(paths[1:]))
    assert rows == expected
    assert stats["s2_unpack/bad"] == 1
    assert stats["s1_chunk_pool/size"] == 5


def test_unreadable_directory_is_reported(tmp_path):
    stages = [
        ("loader.watch", {"dir": str(tmp_path / "missing"), "follow": False}),
        ("loader.read", {}),
        ("loader.extract", {}),
        ("loader.unpack", {}),
        ("loader.batch", {}),
    ]
    result = run_chain(None, stages, timeout=20)
    assert len(result) == 0
    assert result.stats["s0_watch/bad"] == 1
    assert any("missing" in p for p in result.problems)


@pytest.mark.parametrize("sampling", ["pass", "hanse"])
def test_deleted_file_leaves_the_pool(tmp_path, sampling):
    """A chunk whose file is gone is reported once or twice (the few visits
    already queued), then the pool stops serving it."""
    import time

    from loader_testlib import build_chain

    paths = synth.write_games(tmp_path, 6, seed=2, max_plies=10)
    os.unlink(paths[0])
    stages = [
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 100, "passes": 30, "min_chunks": 6, "sampling": sampling}),
        ("loader.unpack", {"threads": 1, "queue": {"capacity": 1, "overflow": "block"}}),
        ("loader.batch", {"batch_size": 8}),
    ]
    seg, qin, qout = build_chain(stages)
    seg.start()
    for p in paths:
        seg.push_path(qin, str(p), 1.0)
    seg.close_input(qin)
    deadline = time.monotonic() + 60
    status = 0
    while time.monotonic() < deadline:
        status, arrays = seg.pop_batch(qout, 0.1)
        if status < 0:
            break
    stats = seg.stats()
    seg.stop()
    assert status < 0, "stream did not end"
    assert 1 <= stats["s2_unpack/bad"] <= 4  # not once per visit (30 passes)
    assert stats["s1_chunk_pool/skipped"] == 1
    assert stats["s1_chunk_pool/size"] == 5
