"""Declarations of the train.jax stage and the averages over its weight stream, train.swa and
train.ema (imports nothing heavy)."""

from __future__ import annotations

from lcpipe.plugin import Port, StageType, field, hookimpl, settings
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
                    doc="NetworkSnapshot of the raw weights every steps_per_network steps",
                ),
                Port(
                    "steps",
                    "trained_steps",
                    required=False,
                    doc="the weights and batches on the device, for train.swa / train.ema",
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
        ),
        _average(
            "train.swa",
            "Stochastic weight averaging over train.jax's weight stream: the running mean of the "
            "weights every period steps, kept on the device; emits it at each of the trainer's networks.",
            {
                "period": field(
                    "integer",
                    100,
                    "Add the weights to the average every this many steps.",
                    minimum=1,
                    maximum=1_000_000,
                    unit="steps",
                ),
                "max_count": field(
                    "integer",
                    10,
                    "Cap of the running count: later weights get weight 1/max_count.",
                    minimum=1,
                    maximum=1_000_000,
                ),
            },
        ),
        _average(
            "train.ema",
            "Exponential moving average of train.jax's weights, updated every step on the device; "
            "emits it at each of the trainer's networks.",
            {"decay": field("number", 0.999, "Decay per step.", minimum=0, maximum=1)},
        ),
    ]


# Averaged weights do not match the raw model's batch-norm statistics: recompute them.
_BN_BATCHES = field(
    "integer",
    4,
    "Bodies with batch norm: recompute the averaged network's batch-norm statistics over this many of "
    "the latest training batches (kept on the device) before it is emitted or checkpointed; 0 keeps "
    "the raw model's statistics.",
    minimum=0,
    maximum=64,
)


def _average(name: str, description: str, fields: dict) -> StageType:
    return StageType(
        name=name,
        factory="lcpipe.train.average_stage:AverageStage",
        description=description,
        inputs=(Port("steps", "trained_steps", doc="train.jax's steps output"),),
        outputs=(Port("weights", "weights", doc=f"NetworkSnapshot of kind {name[6:]} at each network step"),),
        schema=settings({**fields, "bn_batches": _BN_BATCHES}),
        summary=(f"{name[6:]}/count",),
        # with the trainer in every process of a multi-process run: its weights span them all, so
        # the average's updates and checkpoint items are collective (export stays process 0's)
        every_process=True,
    )
