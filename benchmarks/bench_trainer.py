"""Trainer step vs a minimal hand-written JAX step of the same model and batch.

Reports, per config: parameter count, FLOPs per step (XLA cost analysis),
compile time, seconds per step of both, the trainer's overhead ratio, the
achieved FLOP/s and, where the device's peak is known (lcpipe/train/device_peak.py)
or given (--peak-tflops), the model FLOPs utilisation (MFU). Usage:

    python benchmarks/bench_trainer.py [--config small|reference|bt4|resnet20x256|all] [--steps 3]
                                       [--out FILE] [--cpu-devices auto|N] [--fed STEPS]

bt4 is a BT4-like transformer (15 encoder layers, embedding 1024, 32 heads, dff 1536,
smolgen, attention policy) and resnet20x256 a 20-block, 256-filter SE-ResNet: the sizes
people train on GPUs (far too slow for a CPU; "all" is small and reference).

--fed STEPS also trains the config through the real pipeline (pipelines/sl.yaml on the lc0
fixtures: loader stages -> train.jax) for STEPS steps and reports its steps/s against the
step on a device-resident batch measured above (same run) and the trainer's input-wait
share (train/input_wait_share: the time it waited for batches): whether the loader keeps
the device fed.

Without an accelerator both steps run as the train.jax stage runs them:
data parallel over --cpu-devices single-threaded CPU devices (auto: one per
core; 1: XLA's single multi-threaded device), see lcpipe/train/cpu_devices.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from lcpipe.train import cpu_devices
from lcpipe.train.device_peak import mfu
from lcpipe.train.losses import compute_losses, l2_penalty
from lcpipe.train.trainer import Trainer
from lcpipe.types import Batch

CONFIGS = {
    "small": dict(
        batch=64,
        model=dict(
            body="transformer",
            d_model=64,
            heads=4,
            dff=128,
            encoder_layers=2,
            embedding_dense=16,
            embedding_dff=128,
            smolgen_hidden_channels=8,
            smolgen_hidden_size=32,
            smolgen_gen_size=32,
        ),
    ),
    # the reference: 4 blocks, d_model 128, 4 heads, dff 256, embedding 64/128 with dff 256, smolgen 16/64/64
    "reference": dict(
        batch=256,
        model=dict(
            body="transformer",
            d_model=128,
            heads=4,
            dff=256,
            encoder_layers=4,
            embedding_dense=64,
            embedding_dff=256,
            smolgen_hidden_channels=16,
            smolgen_hidden_size=64,
            smolgen_gen_size=64,
            policy_heads=["vanilla"],
            value_heads=["winner"],
            moves_left=True,
        ),
    ),
    # BT4-like: 15 x (1024, 32 heads, dff 1536) with smolgen and the attention policy
    "bt4": dict(
        batch=1024,
        model=dict(
            body="transformer",
            d_model=1024,
            heads=32,
            dff=1536,
            encoder_layers=15,
            embedding_dense=128,
            embedding_dff=1536,
            smolgen_hidden_channels=32,
            smolgen_hidden_size=256,
            smolgen_gen_size=256,
            policy_heads=["vanilla", "optimistic", "soft", "opponent"],
            value_heads=["winner", "q", "st"],
            value_error=["winner"],  # the optimistic head trains on it
            moves_left=True,
        ),
    ),
    # 20 blocks x 256 filters with SE units (ratio 8), the conv policy head
    "resnet20x256": dict(
        batch=1024,
        model=dict(
            body="resnet",
            filters=256,
            blocks=20,
            se_ratio=8,
            policy_type="conv",
            policy_heads=["vanilla"],
            value_heads=["winner"],
            moves_left=True,
        ),
    ),
}


def random_batch(n: int, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    planes = (rng.random((n, 112, 8, 8)) < 0.1).astype(np.float32)
    probs = np.full((n, 1858), -1.0, np.float32)
    for i in range(n):
        legal = rng.choice(1858, 30, replace=False)
        probs[i, legal] = rng.dirichlet(np.ones(30))
    values = np.zeros((n, 6, 3), np.float32)
    values[:, :, 0] = rng.choice([-1.0, 0.0, 1.0], (n, 1))
    values[:, :, 1] = values[:, :, 0] == 0
    values[:, :, 2] = rng.integers(1, 150, (n, 1))
    return Batch(
        planes,
        probs,
        values,
        rng.integers(0, 1858, n).astype(np.int32),
        rng.integers(0, 1858, n).astype(np.int32),
    )


def minimal_step(model, settings, lr, replicated=None, sharded=None):
    """A hand-written train step: forward, the same losses, nadamw, nothing else
    (data parallel like the trainer when given its shardings)."""
    tx = optax.nadamw(lr, b1=0.9, b2=0.999, eps=1e-7, weight_decay=0.0)
    cfg = settings["losses"]

    def loss_fn(params, batch):
        out = model.apply({"params": params}, batch["inputs"], train=True)
        loss, _ = compute_losses(out, batch, cfg, batch["weights"])
        return loss + l2_penalty(params, cfg)

    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if replicated is None:
        return tx, jax.jit(step, donate_argnums=(0, 1))
    return tx, jax.jit(
        step,
        donate_argnums=(0, 1),
        in_shardings=(replicated, replicated, sharded),
        out_shardings=(replicated, replicated, replicated),
    )


def timed(fn, steps):
    """(wall seconds, process cpu seconds) per call, after one warm call."""
    fn()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps, (time.process_time() - c) / steps


def bench(
    name: str, steps: int, precision: str = "float32", batch_size: int = 0, peak_tflops: float = 0.0
) -> dict:
    c = dict(CONFIGS[name])
    if batch_size:
        c["batch"] = batch_size
    settings = {
        "model": c["model"],
        "optimizer": {"name": "nadamw"},
        "schedule": {"lr": 1e-3},
        "precision": precision,
    }
    trainer = Trainer(settings)
    trainer.init()
    batch = trainer.device_batch(random_batch(c["batch"]))
    # Warm the compiler (first-compile costs: kernel libraries, autotuning) so that
    # neither of the two timed compilations below pays them.
    jax.jit(lambda v, x: trainer.model.apply(v, x)).lower(
        {"params": trainer.state["params"]}, batch["inputs"]
    ).compile()
    params_n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(trainer.state["params"]))
    cpu0 = time.process_time()
    trainer.step(batch)  # compiles
    compile_cpu = time.process_time() - cpu0  # robust to other processes on a shared machine
    compile_s = trainer.compile_seconds
    flops = float(trainer.cost_analysis.get("flops", float("nan")))

    def trainer_step():
        m = trainer.step(batch)
        m["loss"].block_until_ready()

    t_trainer, cpu_trainer = timed(trainer_step, steps)

    tx, step = minimal_step(trainer.model, trainer.settings, 1e-3, trainer.replicated, trainer.data_sharding)
    params = jax.tree.map(jnp.array, trainer.state["params"])
    opt_state = tx.init(params)
    local = {k: v for k, v in batch.items()}
    t0, cpu0 = time.perf_counter(), time.process_time()
    compiled = step.lower(params, opt_state, local).compile()
    compile_min, compile_min_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    box = [params, opt_state]

    def min_step():
        box[0], box[1], loss = compiled(box[0], box[1], local)
        loss.block_until_ready()

    t_min, cpu_min = timed(min_step, steps)
    # Compile both once more: in-process caches (GPU autotuning) now favour neither.
    t0, cpu0 = time.perf_counter(), time.process_time()
    trainer._compile(batch)
    compile2 = (time.perf_counter() - t0, time.process_time() - cpu0)
    t0, cpu0 = time.perf_counter(), time.process_time()
    step.lower(box[0], box[1], local).compile()
    compile2_min = (time.perf_counter() - t0, time.process_time() - cpu0)
    return dict(
        config=f"{name} ({precision})",
        batch=c["batch"],
        params=params_n,
        gflop_per_step=flops / 1e9,
        compile_s=compile_s,
        compile_minimal_s=compile_min,
        compile_cpu_s=compile_cpu,
        compile_minimal_cpu_s=compile_min_cpu,
        recompile_s=compile2[0],
        recompile_minimal_s=compile2_min[0],
        s_per_step=t_trainer,
        minimal_s_per_step=t_min,
        cpu_per_step=cpu_trainer,
        minimal_cpu_per_step=cpu_min,
        overhead=t_trainer / t_min - 1,
        gflops=flops / 1e9 / t_trainer,
        mfu=utilisation(flops / t_trainer, trainer.devices, precision, peak_tflops),
        model=c["model"],
    )


def utilisation(flop_per_s: float, devices: list, precision: str, peak_tflops: float) -> float | None:
    """MFU: the step's FLOP/s over the devices' peak (given, or known for their kind)."""
    if peak_tflops:
        return flop_per_s / (peak_tflops * 1e12 * len(devices))
    return mfu(flop_per_s, 1.0, devices, precision)


def fed(name: str, model: dict, batch: int, precision: str, steps: int, synthetic_s: float) -> str:
    """The config trained through the real pipeline (loader stages -> train.jax) on the lc0
    fixtures: its steps/s against the device-resident step (``synthetic_s``) and its input-wait share."""
    fixtures = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "lc0-selfplay")
    every = max(steps // 4, 1)
    with tempfile.TemporaryDirectory() as run:
        data = os.path.join(run, "data")  # the input-format-1 games (the fixtures mix formats)
        os.makedirs(data)
        os.symlink(
            os.path.abspath(os.path.join(fixtures, "selfplay-fmt1.tar")), os.path.join(data, "fmt1.tar")
        )
        items = [
            f"vars.data={data}",
            f"vars.run={os.path.join(run, 'run')}",
            "vars.epochs=100000",
            f"stages.train.with.model={json.dumps(model)}",
            f"stages.train.with.precision={precision}",
            f"stages.train.with.total_steps={every * 5}",  # the first interval compiles: dropped
            f"stages.train.with.metrics_every={every}",
            "stages.train.with.test_every=0",
            f"stages.batches.with.batch_size={batch}",
            f"stages.test_batches.with.batch_size={batch}",
            "stages.shuffled.with.size=5000",
            "stages.console.with.interval=3600",
        ]
        cmd = [sys.executable, "-m", "lcpipe.cli.main", "run", "pipelines/sl.yaml", "-q"]
        for item in items:
            cmd += ["--set", item]
        subprocess.run(cmd, check=True, cwd=os.path.join(os.path.dirname(__file__), ".."))
        rows = [json.loads(ln) for ln in open(os.path.join(run, "run", "metrics.jsonl"))]
    train = [r for r in rows if r.get("stage") == "train" and "train/input_wait_share" in r.get("values", {})]
    later = train[1:] or train
    share = sum(r["values"]["train/input_wait_share"] for r in later) / len(later)
    rate = later[-1]["values"]["train/steps_per_s"]
    return (
        f"{name} fed by the loader (pipelines/sl.yaml on the lc0 fixtures, {every * 4} steps measured): "
        f"{rate:.2f} steps/s = {rate * synthetic_s:.2f}x the device-resident step, "
        f"input-wait share {100 * share:.1f}%"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="all", choices=[*CONFIGS, "all"])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--out", default="")
    ap.add_argument("--precision", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--batch", type=int, default=0, help="override the batch size")
    ap.add_argument(
        "--peak-tflops",
        type=float,
        default=0.0,
        help="peak TFLOP/s of one device for MFU (default: known kinds)",
    )
    ap.add_argument(
        "--fed",
        type=int,
        default=0,
        help="also train STEPS steps through the loader pipeline (input-wait share)",
    )
    ap.add_argument(
        "--cpu-devices", default="auto", help="auto, or the number of CPU devices (1 = XLA default)"
    )
    ap.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the same configs on one multi-threaded CPU device (XLA's default layout), "
        "which otherwise run first in a subprocess as the baseline of this run",
    )
    args = ap.parse_args()
    baseline: list[str] = []
    if args.cpu_devices != "1" and not args.no_baseline and not cpu_devices.has_accelerator_plugin():
        cmd = [
            sys.executable,
            __file__,
            "--config",
            args.config,
            "--steps",
            str(args.steps),
            "--precision",
            args.precision,
            "--batch",
            str(args.batch),
            "--cpu-devices",
            "1",
            "--no-baseline",
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, check=True)
        baseline = ["baseline, one multi-threaded CPU device (--cpu-devices 1):"] + [
            "  " + ln for ln in run.stdout.splitlines() if "GFLOP/step" in ln
        ]
        print("\n".join(baseline), flush=True)
    layout = cpu_devices.configure(args.cpu_devices if args.cpu_devices == "auto" else int(args.cpu_devices))
    names = ["small", "reference"] if args.config == "all" else [args.config]
    lines = [
        f"command: python benchmarks/bench_trainer.py {' '.join(sys.argv[1:])}".rstrip(),
        f"jax {jax.__version__}, devices: {jax.devices()} ({layout}), cpu count {os.cpu_count()}",
        f"load average at start: {os.getloadavg()}",
    ]
    lines += baseline
    if baseline:
        lines.append(f"this layout ({layout}):")
    for name in names:
        r = bench(name, args.steps, args.precision, args.batch, args.peak_tflops)
        utilised = f", MFU {100 * r['mfu']:.1f}%" if r["mfu"] is not None else ", MFU n/a (peak unknown)"
        lines.append(
            f"{r['config']}: batch {r['batch']}, params {r['params']:,}, {r['gflop_per_step']:.1f} GFLOP/step, "
            f"compile {r['compile_s']:.1f} s wall / {r['compile_cpu_s']:.1f} s cpu "
            f"(minimal step {r['compile_minimal_s']:.1f} s / {r['compile_minimal_cpu_s']:.1f} s cpu), "
            f"recompile {r['recompile_s']:.1f} s vs minimal {r['recompile_minimal_s']:.1f} s, "
            f"trainer {r['s_per_step']:.3f} s/step ({r['cpu_per_step']:.2f} cpu-s), "
            f"minimal {r['minimal_s_per_step']:.3f} s/step ({r['minimal_cpu_per_step']:.2f} cpu-s), "
            f"overhead {100 * r['overhead']:+.1f}%, {r['gflops']:.1f} GFLOP/s{utilised}"
        )
        print(lines[-1], flush=True)
        if args.fed:
            lines.append(fed(name, r["model"], r["batch"], args.precision, args.fed, r["s_per_step"]))
            print(lines[-1], flush=True)
    lines.append(f"load average at end: {os.getloadavg()}")
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
