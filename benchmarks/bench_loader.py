"""Throughput of the native loader (lcpipe._native.loader), in CPU terms.

Measures, on the real lc0 fixtures and on generated data:
- inflate alone over the same .gz members, in one C++ loop: zlib as a gzip
  stream (with its CRC-32), zlib as raw DEFLATE (no checksum: the floor any
  zlib-based loader pays), and our decoder with and without the CRC;
- rate 1.0: read -> extract -> unpack -> reservoir -> batch, positions per
  CPU-second of the whole process (all threads), with our inflater and with
  zlib's, and the loader's cost per byte against each inflate figure;
- rate 1/32: chunk pool passes -> unpack at 1/32 (decode once, cached compact
  frames) -> reservoir -> batch, CPU cost per output position vs rate 1.0;
- bytes per reservoir slot vs 8396 (a V7 record);
- time to first batch from 10,000 chunk files (watch -> read -> pool -> unpack
  at 1/32 -> reservoir -> batch).

Run: .venv/bin/python benchmarks/bench_loader.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import Report  # noqa: E402

from lcpipe import _native  # noqa: E402
from lcpipe.compiler.compile import Link  # noqa: E402
from lcpipe.lc0 import chunks  # noqa: E402
from lcpipe.loader import segment as lseg  # noqa: E402
from lcpipe.loader.stages import lcpipe_stage_types  # noqa: E402

DECL = {st.name: st for st in lcpipe_stage_types()}
FIXTURES = ROOT.parent / "shared" / "fixtures" / "lc0-selfplay"


class M:
    def __init__(self, name, stage_type, config):
        self.name, self.stage_type, self.config = name, stage_type, config


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def chain(stages, with_input=True):
    members = []
    for i, (t, cfg) in enumerate(stages):
        full = {k: v["default"] for k, v in DECL[t].schema["properties"].items()}
        full.update(cfg)
        members.append(M(f"s{i}_{t.split('.')[1]}", t, full))
    links = [
        Link(
            a.name,
            DECL[a.stage_type].outputs[0].name,
            b.name,
            DECL[b.stage_type].inputs[0].name,
            DECL[b.stage_type].inputs[0].type,
            "stream",
        )
        for a, b in zip(members, members[1:])
    ]
    ext_in = f"{members[0].name}.paths" if with_input else None
    ext_out = f"{members[-1].name}.batches"
    q, d, ins, outs = lseg.describe(members, links, lambda k: k == ext_in, lambda k: k == ext_out)
    return _native.loader.Segment(q, d), ins.get(ext_in), outs[ext_out]


def drive(stages, paths, max_positions=None, first_only=False, timeout=120.0):
    """Runs a chain; returns (positions, cpu seconds, wall seconds, stats)."""
    seg, qin, qout = chain(stages, with_input=paths is not None)
    c0, t0 = cpu(), time.monotonic()
    seg.start()
    if qin is not None:
        for p in paths:
            while seg.push_path(qin, str(p), 0.1) == 0:
                pass
        seg.close_input(qin)
    rows = 0
    peak: dict[str, float] = {}
    batches = 0
    while time.monotonic() - t0 < timeout:
        status, arrays = seg.pop_batch(qout, 0.1)
        if status < 0:
            break
        if status == 1:
            rows += len(arrays[0])
            del arrays
            batches += 1
            if batches % 20 == 1:  # gauges (reservoir fill) while running
                for k, v in seg.stats().items():
                    if k.endswith("bytes_per_slot"):
                        peak[k] = v
            if first_only or (max_positions and rows >= max_positions):
                break
    c1, t1 = cpu(), time.monotonic()
    stats = seg.stats()
    seg.stop()
    stats.update(peak)
    return rows, c1 - c0, t1 - t0, stats


INFLATERS = {
    "zlib": "zlib gzip+CRC",
    "zlib_raw": "zlib raw",
    "native": "ours gzip+CRC",
    "native_nocrc": "ours no CRC",
}


def inflate_floor(paths, repeat, how):
    """(bytes out, CPU seconds) of inflating every member `repeat` times."""
    members = [gz for p in paths for _, _, gz in chunks.iter_raw_chunks(p)]
    c0 = cpu()
    n = _native.loader.inflate_all(members, how, repeat)
    return n, cpu() - c0


def record_size(path):
    for _, _, gz in chunks.iter_raw_chunks(path):
        data, _ = _native.loader.gunzip(gz)
        return 8356 if int.from_bytes(data[:4], "little") == 6 else 8396


def bench_dataset(label, paths, repeat, out):
    size = record_size(paths[0])
    per_byte = {}  # CPU seconds per uncompressed byte
    for how in INFLATERS:
        nbytes, icpu = inflate_floor(paths, repeat, how)
        per_byte[how] = icpu / nbytes
    out(
        f"[{label}] inflate alone: "
        + ", ".join(
            f"{name} {1 / per_byte[how] / 1e6:,.0f} MB/s ({1 / per_byte[how] / size:,.0f} pos/CPU-s)"
            for how, name in INFLATERS.items()
        )
    )
    many = [p for _ in range(repeat) for p in paths]
    rate1 = None
    for inflater in ("native", "zlib"):
        r1 = [
            ("loader.read", {}),
            ("loader.extract", {"buffer": 1000}),
            ("loader.unpack", {"threads": 2, "inflater": inflater}),
            ("loader.reservoir", {"size": 20000, "min_fill": 0.5}),
            ("loader.batch", {"batch_size": 256}),
        ]
        rows, c, w, st = drive(r1, many)
        loader_per_byte = c / (rows * size)
        ratios = ", ".join(f"{loader_per_byte / per_byte[how]:.2f}x {INFLATERS[how]}" for how in INFLATERS)
        out(
            f"[{label}] rate 1.0, {inflater} inflater: {rows:,} positions, {rows / c:,.0f} positions/CPU-s "
            f"({rows / w:,.0f}/s wall); loader CPU per byte vs inflate alone: {ratios}"
        )
        if rate1 is None:
            rate1, slot = rows / c, st.get("s3_reservoir/bytes_per_slot", float("nan"))
    # rate 1/32: the pool passes over the same chunks many times; unpack keeps
    # each decoded game's unused frames cached.
    passes = 32
    # The pool starts once every member is in: the fixture tars hold the same
    # games (same member names) in three formats, and a source replaced
    # mid-run would be decoded again under its new identity.
    members = sum(1 for p in paths for _ in chunks.iter_raw_chunks(p))
    r32 = [
        ("loader.read", {}),
        (
            "loader.chunk_pool",
            {"window": 100000, "passes": passes, "min_chunks": members, "start_after_idle_seconds": 10},
        ),
        ("loader.unpack", {"threads": 2, "sampling_rate": 1 / 32}),
        ("loader.reservoir", {"size": 20000, "min_fill": 0.5}),
        ("loader.batch", {"batch_size": 256}),
    ]
    rows32, c32, w32, st32 = drive(r32, paths)
    rate32 = rows32 / c32
    out(
        f"[{label}] rate 1/32: {rows32:,} positions over {passes} passes, {rate32:,.0f} positions/CPU-s; "
        f"CPU per position vs rate 1.0: {rate1 / rate32:.2f}x; chunks decoded "
        f"{st32.get('s2_unpack/decoded', 0):,.0f} of {st32.get('s1_chunk_pool/out', 0):,.0f} visits"
    )
    out(f"[{label}] reservoir: {slot:,.0f} bytes per slot vs 8396 (V7 record): {8396 / slot:.1f}x smaller")
    return rate1


def first_batch(tmp: Path, out, n_chunks=10000):
    src = [gz for _, _, gz in chunks.iter_raw_chunks(FIXTURES / "selfplay-fmt1.tar")]
    d = tmp / "many"
    d.mkdir()
    for i in range(n_chunks):
        (d / f"game_{i:07d}.gz").write_bytes(src[i % len(src)])
    old = time.time() - 60
    for f in d.iterdir():
        os.utime(f, (old, old))
    stages = [
        ("loader.watch", {"dir": str(d), "follow": False}),
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": n_chunks}),
        ("loader.unpack", {"threads": 2, "sampling_rate": 1 / 32}),
        ("loader.reservoir", {"size": 200000, "min_fill": 0.5}),
        ("loader.batch", {"batch_size": 256}),
    ]
    rows, c, w, st = drive(stages, None, first_only=True)
    out(
        f"[first batch] {n_chunks:,} chunk files, rate 1/32, reservoir 200,000 (min_fill 0.5): "
        f"{w:.1f} s wall, {c:.1f} CPU-s"
    )
    stages[4] = ("loader.reservoir", {"size": 200000, "min_fill": 0.05})
    rows, c, w, st = drive(stages, None, first_only=True)
    out(f"[first batch] same, min_fill 0.05: {w:.1f} s wall, {c:.1f} CPU-s")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    ap.add_argument("--out", help="also write the figures to this file")
    args = ap.parse_args(argv)
    out = Report("bench_loader", argv)
    repeat = 2 if args.quick else 6
    real = [FIXTURES / f"selfplay-fmt{f}.tar" for f in (1, 3, 5)]
    bench_dataset("real lc0 fixtures V6 fmt 1/3/5", real, repeat, out)
    tmp = Path(tempfile.mkdtemp(prefix="bench_loader_"))
    try:
        from lcpipe.lc0 import synth

        gen = synth.write_games(tmp, 60, seed=1, input_format=3, version=7, tar=True)
        bench_dataset("generated V7 fmt 3", gen, repeat * 3, out)
        if not args.quick:
            first_batch(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.save(args.out)


if __name__ == "__main__":
    main()
