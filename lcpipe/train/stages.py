"""Declaration of the train.jax stage (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, hookimpl
from lcpipe.train.settings import TRAIN_CHECKS, TRAIN_SCHEMA


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="train.jax",
            factory="lcpipe.train.train_stage:TrainStage",
            prepare="lcpipe.train.cpu_devices:prepare_stage",
            description="Train an lc0 network (transformer or residual SE net) with JAX; emits weight snapshots, "
            "checkpoints with orbax and resumes from its checkpoint directory.",
            inputs=(
                Port("train", "batches", doc="training batches"),
                Port("test", "batches", required=False, doc="test batches, evaluated every test_every steps"),
                Port(
                    "validation",
                    "batches",
                    required=False,
                    doc="validation batches, evaluated every validation_every steps",
                ),
            ),
            outputs=(
                Port(
                    "weights",
                    "weights",
                    doc="NetworkSnapshot every steps_per_network steps (raw, and swa/ema when enabled)",
                ),
            ),
            schema=TRAIN_SCHEMA,
            # train_now: the rest of this round trains without waiting for self-play's games
            # (max_steps_per_game); export_now: a network of the current weights, now.
            commands=("train_now", "export_now"),
            # steps/s, ETA and the next network are on the trainer's progress line
            summary=("train/loss", "train/lr", "test/loss"),
            checks=TRAIN_CHECKS,
            every_process=True,  # the processes of a multi-process run step in lockstep
        )
    ]
