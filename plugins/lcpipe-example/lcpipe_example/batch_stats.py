"""example.batch_stats: what the training targets look like."""

import numpy as np

from lcpipe.plugin import Stage


def batch_statistics(batch) -> dict[str, float]:
    probs = np.clip(batch.probabilities, 0.0, None)
    probs = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    entropy = -(probs * np.log(np.where(probs > 0, probs, 1.0))).sum(axis=1)
    q = batch.values[:, 0, 0]
    d = batch.values[:, 0, 1]
    return {
        "positions": float(len(q)),
        "policy_entropy": float(entropy.mean()),
        "result_win": float(((1 + q - d) / 2).mean()),
        "result_draw": float(d.mean()),
        "result_loss": float(((1 - q - d) / 2).mean()),
        "moves_left": float(batch.values[:, 0, 2].mean()),
    }


class BatchStats(Stage):
    def run(self) -> None:
        seen = 0
        forward = self.ctx.has_output("batches")
        for batch in self.ctx.input("batches"):
            seen += 1
            if seen % self.config["every"] == 0:
                self.ctx.metrics(batch_statistics(batch), step=seen)
            if forward and not self.ctx.output("batches").put(batch):
                break
