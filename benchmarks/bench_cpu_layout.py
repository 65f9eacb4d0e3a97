"""CPU device layout of the trainer: one multi-threaded XLA device vs one
single-threaded device per core (data parallel), interleaved so that both see
the same machine (this box's speed drifts by tens of percent between minutes).

    python benchmarks/bench_cpu_layout.py [--rounds 2] [--steps 6]

Each round runs the reference transformer step (bench_trainer.py's
"reference" config) in a fresh process per layout, one after the other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def child(devices: int, steps: int) -> None:
    sys.path.insert(0, os.path.join(HERE, ".."))
    sys.path.insert(0, HERE)
    from lcpipe.train import cpu_devices

    cpu_devices.configure(devices)
    from bench_trainer import CONFIGS, random_batch

    from lcpipe.train.trainer import Trainer

    c = CONFIGS["reference"]
    t = Trainer({"model": c["model"], "optimizer": {"name": "nadamw"}, "schedule": {"lr": 1e-3}})
    t.init()
    b = t.device_batch(random_batch(c["batch"]))
    t.step(b)["loss"].block_until_ready()  # compile
    walls, cpus = [], []
    for _ in range(steps):
        c0, w0 = time.process_time(), time.perf_counter()
        t.step(b)["loss"].block_until_ready()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    print(
        f"RESULT {len(t.devices)} {' '.join(f'{w:.3f}' for w in walls)} | {' '.join(f'{c:.3f}' for c in cpus)}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.steps)
        return 0
    cores = len(os.sched_getaffinity(0))
    walls: dict[int, list[float]] = {1: [], cores: []}
    cpus: dict[int, list[float]] = {1: [], cores: []}
    print(f"command: python benchmarks/bench_cpu_layout.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"cores {cores}, load average at start {os.getloadavg()}")
    for r in range(args.rounds):
        for n in (1, cores):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--steps", str(args.steps)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
            w, c = line.split("|")
            walls[n] += [float(x) for x in w.split()[2:]]
            cpus[n] += [float(x) for x in c.split()]
            print(f"round {r + 1}, {n} device(s): s/step {w.split()[2:]}", flush=True)
    one, many = statistics.median(walls[1]), statistics.median(walls[cores])
    print(
        f"median s/step: 1 multi-threaded device {one:.3f} ({statistics.median(cpus[1]):.2f} cpu-s), "
        f"{cores} single-threaded devices {many:.3f} ({statistics.median(cpus[cores]):.2f} cpu-s): "
        f"{one / many:.2f}x faster"
    )
    print(f"load average at end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
