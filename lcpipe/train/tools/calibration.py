"""Value calibration over a whole evaluation pass: predicted expected score (W + D/2)
against the target's, in equal-width bins (the reliability diagram), and the expected
calibration error over every position (not a mean of per-batch figures)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def expected_score(wdl: np.ndarray) -> np.ndarray:
    return wdl[:, 0] + 0.5 * wdl[:, 1]


def reliability(head: str, predicted_wdl: np.ndarray, target_wdl: np.ndarray, bins: int = 10) -> Reliability:
    """Bins over [0, 1] of the predicted score; each with its positions' mean prediction and target."""
    pred, real = expected_score(predicted_wdl), expected_score(target_wdl)
    idx = np.clip((pred * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(idx, minlength=bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(idx, pred, bins) / counts
        mean_real = np.bincount(idx, real, bins) / counts
    return Reliability(head, counts, mean_pred, mean_real)


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
