"""Syzygy probing throughput: the native prober (lcpipe._native.SyzygyTablebases) vs python-chess.

The same random legal positions (every table in the directory, its material as named and
colour-swapped, both sides to move) are probed by both in one run; the native answers are checked
equal to python-chess's before timing. Tables are opened by an untimed first pass. Rates are the best
of --repeat runs, one position after another:
  python-chess   chess.syzygy.Tablebase.probe_wdl / probe_dtz on prepared chess.Board objects
  native/call    SyzygyTablebases.probe_wdl(fen) from a Python loop (FEN parsing and the call included)
  native/batch   SyzygyTablebases.probe_many(fens, threads=1): one C++ loop (FEN parsing included)
  native/batch2  the same on 2 C++ threads
Run:  PYTHONPATH=. .venv/bin/python benchmarks/bench_syzygy.py [--dir .venv/syzygy-test] [--per-table 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import chess
import chess.syzygy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "loader"))

import lcpipe._native as native  # noqa: E402
import syzygy_positions as sp  # noqa: E402


def best_rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=str(REPO / ".venv" / "syzygy-test"))
    ap.add_argument("--per-table", type=int, default=40, help="positions per table and colour orientation")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    names = sp.table_names(Path(args.dir))
    boards = [
        sp.random_board(rng, name, swap)
        for name in names
        for swap in (False, True)
        for _ in range(args.per_table)
    ]
    fens = [b.fen() for b in boards]
    ours = native.SyzygyTablebases([args.dir])
    oracle = chess.syzygy.open_tablebase(args.dir)

    rows = []
    for kind in ("wdl", "dtz"):
        ref_probe = oracle.probe_wdl if kind == "wdl" else oracle.probe_dtz
        our_probe = ours.probe_wdl if kind == "wdl" else ours.probe_dtz
        want = [ref_probe(b) for b in boards]  # also opens python-chess's tables
        got = ours.probe_many(fens, kind, threads=1)
        if got != want:
            bad = sum(g != w for g, w in zip(got, want))
            raise SystemExit(f"{kind}: {bad} of {len(boards)} native answers differ from python-chess")
        n = len(boards)
        ref = best_rate(lambda: [ref_probe(b) for b in boards], n, args.repeat)
        call = best_rate(lambda: [our_probe(f) for f in fens], n, args.repeat)
        batch = best_rate(lambda: ours.probe_many(fens, kind, threads=1), n, args.repeat)
        batch2 = best_rate(lambda: ours.probe_many(fens, kind, threads=2), n, args.repeat)
        rows.append((kind, n, ref, call, batch, batch2))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# Syzygy probes per second, native prober vs python-chess {chess.__version__}, same positions, same run."
    )
    print(f"# Command: {' '.join(['PYTHONPATH=.', '.venv/bin/python', *sys.argv])}")
    print(
        f"# {len(names)} tables from {Path(args.dir).name}, {args.per_table} positions per table and colour "
        f"orientation; best of {args.repeat}; answers checked equal first."
    )
    print(
        f"# python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus, "
        f"load {load:.1f} at the end"
    )
    print(
        f"{'probe':6} {'positions':>9} {'python-chess':>13} {'native/call':>12} {'native/batch':>13} "
        f"{'batch2':>10} {'call x':>8} {'batch x':>8}"
    )
    for kind, n, ref, call, batch, batch2 in rows:
        print(
            f"{kind:6} {n:9d} {ref:13.0f} {call:12.0f} {batch:13.0f} {batch2:10.0f} "
            f"{call / ref:7.1f}x {batch / ref:7.1f}x"
        )


if __name__ == "__main__":
    main()
