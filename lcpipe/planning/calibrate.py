"""A short real training run on this machine: compile time, steps/s and positions/s of a
``train.jax`` stage's settings, on synthetic games at the spec's batch size."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Calibration:
    compile_s: float
    steps: int
    steps_per_s: float
    positions_per_s: float
    state_bytes: int  # the real training state's size on the devices
    step_temp_bytes: int | None  # XLA's working memory of the compiled step (activations), if it says


def synthetic_batch(batch_size: int, input_format: int):
    from lcpipe.lc0 import synth
    from lcpipe.lc0.tensors import frames_to_batch

    frames = np.concatenate(
        [a for _, a in synth.generate_games(4, seed=0, input_format=input_format, max_plies=60)]
    )
    rows = np.resize(np.arange(len(frames)), batch_size)  # repeat the games up to the batch size
    return frames_to_batch(frames[rows])


def calibrate(settings: dict, batch_size: int, steps: int) -> Calibration:
    import jax

    from lcpipe.train.trainer import Trainer

    trainer = Trainer(settings)
    trainer.init()
    batch = synthetic_batch(batch_size, int(trainer.settings["input_format"]))
    start = time.monotonic()
    jax.block_until_ready(trainer.step(batch))  # the first step compiles
    compile_s = time.monotonic() - start
    start = time.monotonic()
    for _ in range(steps):
        metrics = trainer.step(batch)
    jax.block_until_ready(metrics)
    took = max(time.monotonic() - start, 1e-9)
    state_bytes = sum(int(x.nbytes) for x in jax.tree.leaves(trainer.state))
    temp = _temp_bytes(trainer._train_step)
    trainer.close()
    return Calibration(compile_s, steps, steps / took, steps * batch_size / took, state_bytes, temp)


def _temp_bytes(compiled) -> int | None:
    """The compiled step's temporary buffers (activations kept for the backward pass, workspace)."""
    try:
        stats = compiled.memory_analysis()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    size = getattr(stats, "temp_size_in_bytes", None)
    return int(size) if size is not None else None
