"""Run a few trainer steps and save the weights (used by test_parallel.py).

usage: dp_script.py OUT.npz MODE [PROCESS_ID PORT]
MODE "local": with all local devices (8 simulated) and with one device, saves both (also with
gradient accumulation and bfloat16 compute).
MODE "dist": one of two jax.distributed processes on localhost; each feeds its half.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import jax
import numpy as np
from helpers import TINY_TRANSFORMER, make_batch

from lcpipe.train.trainer import Trainer

# The smallest transformer that still has every part of the step (compile time dominates here).
SETTINGS = {
    "model": dict(TINY_TRANSFORMER, smolgen=False, moves_left=False),
    "optimizer": {"name": "sgd"},
    "schedule": {"lr": 0.05},
    "seed": 3,
}
# Gradient accumulation and bfloat16 compute under sharding: each device's micro-batches.
ACCUMULATE_BF16 = dict(SETTINGS, precision="bfloat16", optimizer={"name": "sgd", "accumulate": 2})
BATCHES = [make_batch(16, seed=s) for s in range(2)]


def run(devices, part=None, settings=SETTINGS):
    t = Trainer(settings, devices=devices)
    t.init()
    for b in BATCHES:
        if part is not None:  # this process's half of the global batch
            lo, hi = part
            b = type(b)(
                b.inputs[lo:hi],
                b.probabilities[lo:hi],
                b.values[lo:hi],
                b.opponent_idx[lo:hi],
                b.next_idx[lo:hi],
            )
        t.step(b)
    assert t.step_count == len(BATCHES)
    return jax.tree.leaves(t.snapshot().params["params"])  # host copies, also across processes


def main():
    out, mode = sys.argv[1], sys.argv[2]
    if mode == "local":
        many = run(jax.devices())
        one = run(jax.devices()[:1])
        many_acc = run(jax.devices(), settings=ACCUMULATE_BF16)
        one_acc = run(jax.devices()[:1], settings=ACCUMULATE_BF16)
        np.savez(
            out,
            n=len(jax.devices()),
            **{f"many{i}": a for i, a in enumerate(many)},
            **{f"one{i}": a for i, a in enumerate(one)},
            **{f"accmany{i}": a for i, a in enumerate(many_acc)},
            **{f"accone{i}": a for i, a in enumerate(one_acc)},
        )
    else:
        pid, port = int(sys.argv[3]), sys.argv[4]
        jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)
        assert len(jax.devices()) == 2, jax.devices()
        got = run(jax.devices(), part=(pid * 8, pid * 8 + 8))
        if pid == 0:
            np.savez(out, **{f"dist{i}": a for i, a in enumerate(got)})


if __name__ == "__main__":
    main()
