"""Bounded inputs in the Python readers (`lcpipe data dump|stats`, data.batches), and clean
errors of the command line for bad input and unwritable output files."""

from __future__ import annotations

import resource
import subprocess
import sys
import zlib
from pathlib import Path

from lcpipe.lc0 import chunks, synth
from lcpipe.lc0.limits import InputLimits
from lcpipe.lc0.report import ReadReport

GIB = 1 << 30


def gzip_bomb(path: Path, size: int) -> Path:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(comp.compress(block))
        f.write(comp.flush())
    return path


def lcpipe(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", *argv], capture_output=True, text=True, timeout=300
    )


def test_readers_skip_a_gzip_bomb_and_a_huge_file_once_with_bounded_memory(tmp_path):
    good = synth.write_games(tmp_path / "good", 2, seed=3, input_format=1, version=6, max_plies=20)
    bomb = gzip_bomb(tmp_path / "bomb.gz", GIB)
    sparse = tmp_path / "sparse.gz"
    with open(sparse, "wb") as f:
        f.truncate(3 * GIB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = ReadReport()
    frames = chunks.read_frames([good[0], bomb, sparse, good[1]], report)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(frames) == len(chunks.read_frames(good))
    assert report.skipped == 2  # each bad file counted once
    assert [p.source for p in report.problems] == [str(bomb), str(sparse)]
    assert "size limit" in report.problems[0].message and "file size limit" in report.problems[1].message
    assert grown_mib < 200, f"peak RSS grew by {grown_mib:.0f} MiB"


def test_limits_are_settings(tmp_path):
    [game] = synth.write_games(tmp_path, 1, seed=3, input_format=1, version=6, max_plies=30)
    raw = len(zlib.decompress(game.read_bytes(), 16 + zlib.MAX_WBITS))
    report = ReadReport()
    assert len(chunks.read_frames([game], report, InputLimits(max_chunk_bytes=raw - 1))) == 0
    assert report.skipped == 1
    assert len(chunks.read_frames([game], ReadReport(), InputLimits(max_chunk_bytes=raw))) > 0
    done = lcpipe("data", "stats", str(game), "--max-chunk-mb", str((raw - 1) / (1 << 20)))
    assert done.returncode == 1 and "size limit" in done.stderr


def test_data_dump_of_garbage_or_a_bomb_exits_1(tmp_path):
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"this is not gzip data at all" * 10)
    bomb = gzip_bomb(tmp_path / "bomb.gz", 256 << 20)
    for path, message in ((garbage, "corrupt gzip data"), (bomb, "size limit")):
        done = lcpipe("data", "dump", str(path))
        assert done.returncode == 1, done.stderr
        assert str(path) in done.stderr and message in done.stderr and "Traceback" not in done.stderr


def test_unwritable_output_is_a_clean_error(tmp_path):
    missing_dir = tmp_path / "nonexistent" / "dir" / "x.json"
    for target in (str(missing_dir), "/proc/version"):
        for argv in (["schema", "-o", target], ["graph", "pipelines/quickstart.yaml", "-o", target]):
            done = subprocess.run(
                [sys.executable, "-m", "lcpipe.cli.main", *argv],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=Path(__file__).resolve().parents[2],
            )
            assert done.returncode == 1, (argv, done.stderr)
            assert f"lcpipe: {target}: cannot write" in done.stderr, (argv, done.stderr)
            assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not missing_dir.parent.exists()  # a mistyped directory is not created
