"""`lcpipe train tune-lr`: the learning rate swept exponentially over N steps of the spec's
training data; the loss against the LR says where training is fastest and where it breaks.

Suggested LR: a tenth of the LR where the smoothed loss is lowest, a common rule of thumb
(the minimum itself is already close to the edge of divergence)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from lcpipe.fileio import write_output
from lcpipe.train.tools.training_runs import exponential_lr, with_schedule

SMOOTHING = 0.9  # exponential moving average of the loss (bias-corrected)
DIVERGED = 4.0  # stop once the smoothed loss exceeds this many times its lowest value


@dataclass
class Sweep:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stopped_early: bool = False

    def best_index(self) -> int:
        finite = [(v, i) for i, v in enumerate(self.smoothed) if math.isfinite(v)]
        if not finite:
            raise ValueError("no step of the sweep had a finite loss")
        return min(finite)[1]

    def suggested_lr(self) -> float:
        return self.lrs[self.best_index()] / 10.0


def sweep(settings: dict, batches: list, steps: int, min_lr: float, max_lr: float, on_step=None) -> Sweep:
    """Train a fresh model (the spec's, seeded) for ``steps`` steps over ``batches`` (cycled)
    with the LR going from ``min_lr`` to ``max_lr``; stops early once the loss diverges."""
    from lcpipe.train.trainer import Trainer, fetch

    schedule, _ = exponential_lr(min_lr, max_lr, steps)
    trainer = Trainer(with_schedule(settings, schedule))
    trainer.init()
    out = Sweep()
    avg = 0.0
    for i in range(steps):
        metrics = fetch(trainer.step(batches[i % len(batches)]))
        loss, lr = float(metrics["loss"]), float(metrics["lr"])
        avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
        smooth = avg / (1 - SMOOTHING ** (i + 1))
        out.lrs.append(lr)
        out.losses.append(loss)
        out.smoothed.append(smooth)
        if on_step is not None:
            on_step(i + 1, lr, loss)
        lowest = (
            min(v for v in out.smoothed if math.isfinite(v))
            if any(map(math.isfinite, out.smoothed))
            else None
        )
        if not math.isfinite(loss) or (lowest is not None and smooth > DIVERGED * lowest and i > 10):
            out.stopped_early = True
            break
    return out


def write_csv(result: Sweep, path: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["step", "lr", "loss", "smoothed_loss"])
    for i, (lr, loss, smooth) in enumerate(zip(result.lrs, result.losses, result.smoothed)):
        writer.writerow([i, f"{lr:.6g}", f"{loss:.6g}", f"{smooth:.6g}"])
    write_output(path, text.getvalue())


def write_plot(result: Sweep, path: str) -> None:
    from lcpipe.train.tools.plots import figure, save_png

    fig, ax = figure()
    ax.plot(result.lrs, result.losses, color="0.7", linewidth=1, label="loss")
    ax.plot(result.lrs, result.smoothed, color="C0", linewidth=2, label="smoothed")
    ax.axvline(
        result.suggested_lr(), color="C3", linestyle="--", label=f"suggested {result.suggested_lr():.2g}"
    )
    finite = [v for v in result.smoothed if math.isfinite(v)]
    if finite:  # a diverged tail would flatten the part worth reading
        low = min(finite)
        ax.set_ylim(low - 0.05 * abs(low), max(finite[0], low) * 1.5)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate sweep")
    ax.legend()
    save_png(fig, path)
