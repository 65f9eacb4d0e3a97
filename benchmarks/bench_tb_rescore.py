"""Cost of Syzygy rescoring in loader.rescore: tables on vs off, same data, same run.

Endgame-heavy generated games (random 3-5 piece starts of the test tables'
material, lcpipe.lc0.synth) go through read -> extract -> rescore (1 thread)
-> unpack -> batch, alternately with `syzygy_paths` set to the test tables
(.venv/syzygy-test, `make setup`) and without. Reported: the rescore stage's
busy CPU time per game and per position, the extra per probe, and the whole
chain's positions per CPU-second (medians over the repeats, runs interleaved
so machine noise hits both).

Run: .venv/bin/python benchmarks/bench_tb_rescore.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_loader import drive  # noqa: E402
from report import Report  # noqa: E402

from lcpipe.lc0 import synth  # noqa: E402

TABLES = Path(os.environ.get("LCPIPE_SYZYGY_TEST_DIR", ROOT / ".venv" / "syzygy-test"))
MATERIALS = [
    "KQvKR",
    "KRvKP",
    "KPvKP",
    "KRvKN",
    "KQvKP",
    "KRPvKR",
    "KQPvKQ",
    "KPPvKP",
    "KBPvKN",
    "KRvKB",
    "KRPvKP",
    "KQRvKR",
]


def chain(tables: bool):
    rescore = {"threads": 1, "short_term": False}
    if tables:
        rescore["syzygy_paths"] = [str(TABLES)]
    return [
        ("loader.read", {"newest_first": False}),
        ("loader.extract", {"shuffle": False}),
        ("loader.rescore", rescore),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 256, "threads": 1}),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    ap.add_argument("--out", help="also write the figures to this file")
    args = ap.parse_args(argv)
    out = Report("bench_tb_rescore", argv)
    n_games, repeats = (60, 3) if args.quick else (400, 15)
    tmp = Path(tempfile.mkdtemp(prefix="bench_tb_"))
    try:
        rng = np.random.default_rng(0)
        fens = [synth.random_endgame(rng, m) for m in MATERIALS for _ in range(4)]
        paths = []
        for fmt, version in ((1, 6), (3, 7)):
            paths += synth.write_games(
                tmp,
                n_games // 2,
                seed=fmt,
                input_format=fmt,
                version=version,
                max_plies=80,
                start_fens=fens,
                tar=True,
                tar_name=f"end_{fmt}.tar",
            )
        runs: dict[bool, list] = {False: [], True: []}
        for _ in range(repeats):
            for tables in (False, True):
                rows, cpu_s, wall, st = drive(chain(tables), paths)
                runs[tables].append((rows, cpu_s, st))
        rows = runs[False][0][0]
        games = runs[False][0][2]["s2_rescore/out"]
        busy = {t: statistics.median(r[2]["s2_rescore/busy_s"] for r in runs[t]) for t in runs}
        rate = {t: statistics.median(r[0] / r[1] for r in runs[t]) for t in runs}
        st = runs[True][0][2]
        probes = st["s2_rescore/tb_probes"]
        out(
            f"[data] {games:,.0f} endgame games ({len(MATERIALS)} materials, 3-5 pieces, fmt 1 V6 + fmt 3 V7), "
            f"{rows:,} positions; tables: {TABLES.name} (3-4 pieces); {repeats} interleaved runs each"
        )
        out(
            f"[tables on] probes {probes:,.0f} ({probes / rows:.2f} per position), games with an anchor "
            f"{st['s2_rescore/tb_games']:,.0f}, frames changed {st['s2_rescore/tb_frames_changed']:,.0f}, "
            f"misses {st['s2_rescore/tb_misses']:,.0f}"
        )
        for t in (False, True):
            spread = sorted(r[2]["s2_rescore/busy_s"] * 1e3 for r in runs[t])
            out(
                f"[tables {'on' if t else 'off'}] rescore stage busy {busy[t] * 1e3:,.1f} ms median "
                f"(runs {spread[0]:,.1f}-{spread[-1]:,.1f}; {busy[t] / games * 1e6:,.1f} us/game, "
                f"{busy[t] / rows * 1e9:,.0f} ns/position, decoding included); whole chain "
                f"{rate[t]:,.0f} positions/CPU-s"
            )
        extra = busy[True] - busy[False]
        iqr = max(
            np.subtract(*np.percentile([r[2]["s2_rescore/busy_s"] for r in runs[t]], [75, 25])) for t in runs
        )
        out(
            f"[cost] tables add {extra * 1e3:,.1f} ms (median difference; interquartile range of the runs "
            f"{iqr * 1e3:,.1f} ms) to the rescore stage: {extra / max(probes, 1) * 1e6:,.2f} us per probe, "
            f"{extra / rows * 1e9:,.0f} ns per position; whole chain {rate[False] / rate[True]:.2f}x CPU per "
            f"position (tables opened once per run included)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.save(args.out)


if __name__ == "__main__":
    main()
