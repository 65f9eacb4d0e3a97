"""Value calibration over a whole evaluation pass: predicted expected score (W + D/2)
against the target's, in equal-width bins (the reliability diagram), and the expected
calibration error over every position (not a mean of per-batch figures)."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from lcpipe.train.losses import CALIBRATION_BINS, calibration_bins


@dataclass
class Reliability:
    head: str
    counts: np.ndarray  # positions per bin
    predicted: np.ndarray  # mean predicted score per bin (nan when empty)
    actual: np.ndarray  # mean target score per bin (nan when empty)

    @property
    def ece(self) -> float:
        n = self.counts.sum()
        if not n:
            return float("nan")
        filled = self.counts > 0
        gaps = np.abs(self.predicted[filled] - self.actual[filled]) * self.counts[filled]
        return float(gaps.sum() / n)


def reliability(
    head: str, predicted_wdl: np.ndarray, target_wdl: np.ndarray, bins: int = CALIBRATION_BINS
) -> Reliability:
    """Bins over [0, 1] of the predicted score, each with its positions' mean prediction and
    target: the training metric's bins (losses.calibration_bins), over every position at once."""
    n = len(predicted_wdl)
    binned = np.asarray(
        calibration_bins(jnp.asarray(predicted_wdl), jnp.asarray(target_wdl), jnp.ones(n, jnp.float32), bins),
        np.float64,
    )
    counts = np.rint(binned[0]).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Reliability(head, counts, binned[1] / counts, binned[2] / counts)


def write_diagram(curves: list[Reliability], path: str) -> None:
    """The reliability diagram: a calibrated head lies on the diagonal."""
    from lcpipe.train.tools.plots import figure, save_png

    fig, ax = figure()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    for i, curve in enumerate(curves):
        filled = curve.counts > 0
        ax.plot(
            curve.predicted[filled],
            curve.actual[filled],
            marker="o",
            color=f"C{i}",
            label=f"{curve.head} (ECE {curve.ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted expected score (W + D/2)")
    ax.set_ylabel("target expected score")
    ax.set_title("value calibration")
    ax.legend()
    save_png(fig, path)
