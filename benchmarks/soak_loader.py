"""Soak test of the native loader: leaks over time and across restarts.

Runs watch -> read -> chunk_pool -> unpack -> reservoir -> batch on a
directory of generated games while a writer thread keeps adding new chunk
files (atomic writes, some in new subdirectories) and deletes the oldest, so
the pool keeps evicting, the unpack cache keeps turning over and some files
vanish while the pool still holds them. Every `--restart-minutes` the segment
is stopped and a new one started. Samples the process's RSS, open file
descriptors and threads with the loader's own gauges, and prints the growth
between the first sample after warm-up and the last.

Run: .venv/bin/python benchmarks/soak_loader.py --minutes 20 [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_loader import chain  # noqa: E402
from report import Report  # noqa: E402

from lcpipe.fileio import atomic_write  # noqa: E402
from lcpipe.lc0 import synth  # noqa: E402


def proc_status() -> tuple[float, int, int]:
    """(RSS MB, open fds, threads) of this process."""
    rss, threads = 0.0, 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, len(os.listdir("/proc/self/fd")), threads


class Writer(threading.Thread):
    """Adds game files at a steady rate and deletes the oldest beyond `keep`."""

    def __init__(self, root: Path, games: list[bytes], per_second: float, keep: int):
        super().__init__(daemon=True)
        self.root, self.games, self.period, self.keep = root, games, 1.0 / per_second, keep
        self.stop_flag = threading.Event()
        self.written: list[Path] = []
        self.count = 0

    def run(self):
        while not self.stop_flag.is_set():
            sub = self.root / f"part{self.count // 500:05d}"  # a new directory every 500 files

            sub.mkdir(exist_ok=True)
            path = sub / f"game_{self.count:09d}.gz"
            atomic_write(path, self.games[self.count % len(self.games)], fsync=False)
            self.written.append(path)
            self.count += 1
            while len(self.written) > self.keep:
                old = self.written.pop(0)
                old.unlink(missing_ok=True)
                if old.parent != self.root and not any(old.parent.iterdir()):
                    old.parent.rmdir()
            self.stop_flag.wait(self.period)


def stages(d: Path):
    return [
        ("loader.watch", {"dir": str(d), "poll_seconds": 0.5, "settle_seconds": 0.5}),
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 1000, "min_chunks": 200}),
        ("loader.unpack", {"threads": 2, "sampling_rate": 0.25, "cache_mb": 64}),
        ("loader.reservoir", {"size": 20000, "min_fill": 0.5}),
        ("loader.batch", {"batch_size": 256}),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument(
        "--restart-minutes", type=float, default=5.0, help="stop and start a new segment this often"
    )
    ap.add_argument("--sample-seconds", type=float, default=30.0)
    ap.add_argument("--warmup-minutes", type=float, default=3.0, help="growth is measured from here on")
    ap.add_argument("--files-per-second", type=float, default=20.0)
    ap.add_argument("--keep", type=int, default=3000, help="files kept on disk; older ones are deleted")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args(argv)
    out = Report("soak_loader", argv)
    tmp = Path(tempfile.mkdtemp(prefix="soak_loader_"))
    games = [p.read_bytes() for p in synth.write_games(tmp / "src", 64, seed=1, input_format=3, version=7)]
    d = tmp / "games"
    d.mkdir()
    writer = Writer(d, games, args.files_per_second, args.keep)
    for i in range(500):  # a starting directory, older (by name) than what follows
        path = d / f"game_{i:09d}.gz"
        atomic_write(path, games[i % len(games)], fsync=False)
        writer.written.append(path)
    writer.count = 500
    writer.start()
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    samples = []
    positions = restarts = 0
    bad = 0
    out("   min    RSS MB   fds  threads   positions  files  res.fill  cache MB  pool  watch.known  bad")
    try:
        while time.monotonic() < end:
            seg, _, qout = chain(stages(d), with_input=False)
            seg.start()
            seg_end = min(end, time.monotonic() + args.restart_minutes * 60)
            next_sample = time.monotonic()
            st = {}
            while time.monotonic() < seg_end:
                status, arrays = seg.pop_batch(qout, 0.1)
                if status == 1:
                    positions += len(arrays[0])
                    del arrays
                seg.problems()  # drained like the runtime does
                if time.monotonic() >= next_sample:
                    next_sample += args.sample_seconds
                    st = seg.stats()
                    rss, fds, threads = proc_status()
                    minute = (time.monotonic() - t0) / 60
                    row = (minute, rss, fds, threads, restarts)
                    samples.append(row)
                    out(
                        f"{minute:6.1f} {rss:9.1f} {fds:5d} {threads:8d} {positions:11,d} {writer.count:6d} "
                        f"{st.get('s4_reservoir/fill', 0):9,.0f} {st.get('s3_unpack/cache_mb', 0):9.1f} "
                        f"{st.get('s2_chunk_pool/size', 0):5.0f} {st.get('s0_watch/known', 0):12.0f} "
                        f"{bad + st.get('s3_unpack/bad', 0):4.0f}"
                    )
            st = seg.stats()
            bad += st.get("s3_unpack/bad", 0)
            seg.stop()
            del seg
            restarts += 1
    finally:
        writer.stop_flag.set()
        writer.join()
        shutil.rmtree(tmp, ignore_errors=True)
    after = [s for s in samples if s[0] >= args.warmup_minutes]
    if len(after) >= 2:
        (m0, r0, f0, t0_, _), (m1, r1, f1, t1, _) = after[0], after[-1]
        hours = (m1 - m0) / 60
        peak = max(s[1] for s in after)
        out(
            f"growth from minute {m0:.1f} to {m1:.1f}: RSS {r1 - r0:+.1f} MB ({(r1 - r0) / hours:+.1f} MB/hour; "
            f"peak {peak:.1f} MB), open fds {f1 - f0:+d}, threads {t1 - t0_:+d}; {positions:,} positions, "
            f"{writer.count:,} files written, {restarts} segments started, {bad:.0f} chunks unreadable "
            f"(deleted while pooled)"
        )
        # A leak grows within a segment and from one segment to the next; a
        # high-water mark (allocator caches, the frame slabs) levels off.
        peaks = [max(s[1] for s in samples if s[4] == k) for k in range(restarts)]
        out("peak RSS per segment (MB): " + ", ".join(f"{p:.1f}" for p in peaks))
        last = [s for s in samples if s[4] == restarts - 1 and s[0] >= after[0][0]]
        half = [s for s in last if s[0] >= (last[0][0] + last[-1][0]) / 2] if last else []
        if len(half) >= 2:
            out(
                f"last segment, second half (minute {half[0][0]:.1f} to {half[-1][0]:.1f}): "
                f"RSS {half[-1][1] - half[0][1]:+.1f} MB"
            )
    out.save(args.out)


if __name__ == "__main__":
    main()
