"""Run in a fresh process by test_cpu_devices.py: configure CPU devices before
JAX starts, then train on a batch the device count does not divide.

usage: cpu_devices_script.py OUT.npz DEVICES
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from lcpipe.train import cpu_devices


def main():
    out, devices = sys.argv[1], int(sys.argv[2])
    first = cpu_devices.configure(devices)
    import jax
    import numpy as np
    from helpers import TINY_TRANSFORMER, make_batch

    from lcpipe.train.trainer import Trainer

    n = len(jax.devices())
    second = cpu_devices.configure(devices)  # JAX has started: must not change anything
    settings = {
        "model": dict(TINY_TRANSFORMER, smolgen=False, moves_left=False),
        "optimizer": {"name": "sgd"},
        "schedule": {"lr": 0.05},
        "seed": 5,
    }
    batches = [make_batch(4, seed=s) for s in range(2)]

    def run(devs):
        t = Trainer(settings, devices=devs)
        t.init()
        for b in batches:
            t.step(b)
        return t, jax.tree.leaves(t.snapshot().params["params"])

    many, many_params = run(jax.devices())
    _, one_params = run(jax.devices()[:1])
    np.savez(
        out,
        n=n,
        used=len(many.devices),
        flags=os.environ.get("XLA_FLAGS", ""),
        first=first,
        second=second,
        **{f"many{i}": a for i, a in enumerate(many_params)},
        **{f"one{i}": a for i, a in enumerate(one_params)},
    )


if __name__ == "__main__":
    main()
