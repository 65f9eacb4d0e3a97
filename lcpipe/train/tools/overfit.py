"""`lcpipe train overfit`: one batch, many steps. A model and data that fit together drive
the loss on one batch down; one that does not fall points at the data, the targets or the
model (lc0's trainer has the same check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lcpipe.train.tools.training_runs import constant_lr, with_schedule


@dataclass
class OverfitResult:
    losses: list[float] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)

    @property
    def first(self) -> float:
        return self.losses[0]

    @property
    def last(self) -> float:
        tail = self.losses[
            -max(1, len(self.losses) // 10) :
        ]  # the mean of the last tenth: one step can be noisy
        return sum(tail) / len(tail)

    def fell(self, min_drop: float) -> bool:
        """The loss of the last steps is below (1 - min_drop) times the first step's."""
        return self.last < (1.0 - min_drop) * self.first


def overfit(settings: dict, batch, steps: int, lr: float | None, on_step=None) -> OverfitResult:
    """Train a fresh model (the spec's, seeded) on ``batch`` for ``steps`` steps at a constant lr
    (default: the schedule's peak ``lr``, without warmup)."""
    from lcpipe.train.trainer import Trainer, fetch

    lr = settings["schedule"]["lr"] if lr is None else lr
    trainer = Trainer(with_schedule(settings, constant_lr(lr)))
    trainer.init()
    arrays = trainer.device_batch(batch)
    out = OverfitResult()
    for i in range(steps):
        metrics = {k: float(v) for k, v in fetch(trainer.step(arrays)).items()}
        out.losses.append(metrics["loss"])
        out.metrics.append(metrics)
        if on_step is not None:
            on_step(i + 1, metrics)
    return out
