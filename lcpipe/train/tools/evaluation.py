"""`lcpipe train eval`: a network on the spec's test or validation data. The losses and
metrics are the trainer's own (Trainer.evaluate, the losses module); calibration is
computed over the whole pass; the first positions' inputs and outputs can be dumped."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from lcpipe.fileio import write_output
from lcpipe.train.tools.calibration import Reliability, reliability


@dataclass
class Evaluation:
    step: int
    positions: int
    metrics: dict[str, float]
    calibration: list[Reliability] = field(default_factory=list)
    dump: dict[str, np.ndarray] = field(default_factory=dict)


def _numpy_outputs(outputs) -> dict[str, np.ndarray]:
    """Flat numpy arrays of a model's outputs: policy_<head>, value_<head>_wdl (probabilities), moves_left."""
    import jax

    out = {}
    for head, logits in outputs["policy"].items():
        out[f"policy_{head}"] = np.asarray(logits, np.float32)
    for head, value in outputs["value"].items():
        out[f"value_{head}_wdl"] = np.asarray(jax.nn.softmax(value["wdl"], axis=-1), np.float32)
    if "moves_left" in outputs:
        out["moves_left"] = np.asarray(outputs["moves_left"], np.float32)
    return out


def evaluate(trainer, batches: list, dump_positions: int = 0, bins: int = 10) -> Evaluation:
    """Every loss and metric over ``batches``, value calibration over all their positions and,
    with ``dump_positions``, the inputs, targets and outputs of the first positions."""
    from lcpipe.train.losses import value_target
    from lcpipe.train.trainer import batch_arrays

    metrics = trainer.evaluate(batches)
    losses_cfg = trainer.settings["losses"]
    preds: dict[str, list] = {}
    targets: dict[str, list] = {}
    dumped: dict[str, list] = {}
    kept = 0
    for batch in batches:
        arrays = batch_arrays(batch)
        outputs = _numpy_outputs(trainer.predict(arrays["inputs"]))
        for head in trainer.model_config["value_heads"]:
            target, valid = value_target(arrays["values"], head, losses_cfg)
            ok = np.asarray(valid) & (arrays["weights"] > 0)
            preds.setdefault(head, []).append(outputs[f"value_{head}_wdl"][ok])
            targets.setdefault(head, []).append(np.asarray(target)[ok])
        if kept < dump_positions:
            take = min(dump_positions - kept, len(arrays["inputs"]))
            for key, value in {**arrays, **outputs}.items():
                dumped.setdefault(key, []).append(np.asarray(value)[:take])
            kept += take
    curves = [reliability(h, np.concatenate(preds[h]), np.concatenate(targets[h]), bins) for h in preds]
    for curve in curves:  # over the whole pass: replaces the mean of the per-batch figures
        metrics[f"value_{curve.head}_calibration"] = curve.ece
    positions = sum(len(batch_arrays(b)["inputs"]) for b in batches)
    dump = {k: np.concatenate(v) for k, v in dumped.items()}
    return Evaluation(trainer.step_count, positions, metrics, curves, dump)


def write_dump(dump: dict[str, np.ndarray], path: str) -> None:
    """npz: every array as it is; jsonl: one position per line (planes as 112 64-bit masks,
    the policy as {index: value} over the legal moves)."""
    if path.endswith(".npz"):
        buf = io.BytesIO()
        np.savez_compressed(buf, **dump)  # type: ignore[arg-type]  # numpy's stub types the keywords as allow_pickle
        write_output(path, buf.getvalue())
        return
    n = len(dump["inputs"])
    lines = []
    for i in range(n):
        planes = dump["inputs"][i].reshape(112, 64) > 0.5
        masks = [int(sum(1 << s for s in np.flatnonzero(p))) for p in planes]
        legal = np.flatnonzero(dump["probabilities"][i] >= 0)
        record = {
            "index": i,
            "planes": masks,
            "target_policy": {int(m): round(float(dump["probabilities"][i][m]), 6) for m in legal},
            "target_values": dump["values"][i].tolist(),
        }
        for key, value in dump.items():
            if key.startswith("policy_"):
                record[key] = {int(m): round(float(value[i][m]), 6) for m in legal}
            elif key.startswith("value_") or key == "moves_left":
                record[key] = np.asarray(value[i]).tolist()
        lines.append(json.dumps(record, allow_nan=True))
    write_output(path, "\n".join(lines) + "\n")
