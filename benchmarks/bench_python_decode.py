"""Throughput of the Python decoding path: gzipped chunk bytes -> Batch.

This is the baseline the native loader is compared against. Measured per
source, with the data already in memory (no disk):
  parse   gunzip + record parsing/validation (chunks.parse_chunk)
  batch   frames -> Batch tensors (tensors.frames_to_batch, batches of 1024)
  total   both, end to end
Run:  PYTHONPATH=. python benchmarks/bench_python_decode.py [--games 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lcpipe.lc0 import chunks, synth, tensors  # noqa: E402
from lcpipe.lc0 import frames as fr  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures" / "lc0-selfplay"
BATCH = 1024


def sources(n_games: int) -> list[tuple[str, list[bytes]]]:
    out = []
    for fmt, version in ((1, 6), (3, 7)):
        games = synth.generate_games(n_games, seed=123, input_format=fmt, version=version)
        out.append(
            (f"generated fmt{fmt} V{version} ({n_games} games)", [chunks.gzip_frames(a) for _, a in games])
        )
    for fmt in (1, 3, 5):
        path = FIXTURES / f"selfplay-fmt{fmt}.tar"
        if path.is_file():
            out.append(
                (f"lc0 fixture fmt{fmt} V6 (80 games)", [gz for _, _, gz in chunks.iter_raw_chunks(path)])
            )
    return out


def run_once(gzs: list[bytes]) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    parts = [chunks.parse_chunk(gz) for gz in gzs]
    t1 = time.perf_counter()
    if any(p.dtype != parts[0].dtype for p in parts):
        parts = [fr.to_v7(p) for p in parts]
    frames = np.concatenate(parts)
    t2 = time.perf_counter()
    for i in range(0, len(frames), BATCH):
        tensors.frames_to_batch(frames[i : i + BATCH])
    t3 = time.perf_counter()
    return t1 - t0, t3 - t2, len(frames)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="runs per source; the best is reported")
    args = ap.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'source':40s} {'frames':>7s} {'parse/s':>10s} {'batch/s':>10s} {'total/s':>10s}")
    for name, gzs in sources(args.games):
        best = None
        for _ in range(args.repeat):
            parse_s, batch_s, n = run_once(gzs)
            if best is None or parse_s + batch_s < best[0] + best[1]:
                best = (parse_s, batch_s, n)
        parse_s, batch_s, n = best
        print(f"{name:40s} {n:7d} {n / parse_s:10.0f} {n / batch_s:10.0f} {n / (parse_s + batch_s):10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
