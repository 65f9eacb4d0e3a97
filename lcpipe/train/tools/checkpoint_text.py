"""`lcpipe train describe`'s output: a checkpoint report as text or as JSON-ready data."""

from __future__ import annotations

import math

from lcpipe.model.config import model_defaults
from lcpipe.train.tools.inspect_checkpoint import CheckpointReport


def report_json(r: CheckpointReport) -> dict:
    return {
        "step": r.step,
        "steps": r.steps,
        "meta": r.meta,
        "parameters": {p: list(shape) for p, shape, _ in r.parameters},
        "parameter_count": r.parameter_count,
        "averages": r.averages,
        "scalars": r.scalars,
        "schedule_step": r.schedule_step,
        "lr": r.lr,
    }


def report_text(
    r: CheckpointReport, depth: int = 2, every_param: bool = False, settings: dict | None = None
) -> str:
    """``settings``: the spec's trainer settings, for a checkpoint that records none."""
    meta = r.meta
    recorded = meta.get("settings") or {}
    model = meta.get("model") or {}
    defaults = model_defaults()
    lines = [
        f"{r.directory}: step {r.step} (steps kept: {', '.join(map(str, r.steps))})",
        f"  started from step {meta.get('start_step', 0)}; last network at step {meta.get('network_step', '-')}",
    ]
    if meta.get("source"):
        lines.append(f"  initialised from {meta['source']}")
    lines.append(f"  precision {meta.get('precision', 'float32')}")
    shown = ", ".join(f"{k}={v}" for k, v in model.items() if defaults.get(k) != v and k != "body")
    lines.append(f"model: {model.get('body', '?')}  ({shown})")
    opt = recorded.get("optimizer") or (settings or {}).get("optimizer")
    lines.append(
        f"optimizer: {opt['name']}  (weight_decay={opt['weight_decay']}, clip_norm={opt['clip_norm']}, "
        f"accumulate={opt['accumulate']})"
        if opt
        else "optimizer: not recorded"
    )
    lines.append(
        f"schedule: {r.schedule_step} updates applied, lr now {r.lr:.6g}"
        if r.schedule_step is not None and r.lr is not None
        else f"schedule: {r.schedule_note}"
    )
    lines.append(
        "averages: "
        + (
            ", ".join(f"{name} ({n} samples)" if n >= 0 else name for name, n in sorted(r.averages.items()))
            or "none"
        )
    )
    if r.scalars.get("nan_total"):
        lines.append(f"skipped non-finite steps: {int(r.scalars['nan_total'])}")
    if r.scalars.get("spike_total"):
        lines.append(f"skipped spikes: {int(r.scalars['spike_total'])}")
    if r.scalars.get("lr_multiplier", 1.0) != 1.0:
        lines.append(f"learning-rate multiplier (spike-guard rollbacks): {r.scalars['lr_multiplier']:g}")
    lines.append(f"parameters: {r.parameter_count:,} in {len(r.parameters)} arrays")
    groups: dict[str, int] = {}
    for path, shape, _ in r.parameters:
        key = "/".join(path.split("/")[: max(1, depth)])
        groups[key] = groups.get(key, 0) + math.prod(shape)
    width = max(len(k) for k in groups)
    lines += [f"  {key:<{width}}  {count:>12,}" for key, count in groups.items()]
    if every_param:
        width = max(len(p) for p, _, _ in r.parameters)
        lines += [
            f"    {path:<{width}}  {str(list(shape)):<20} {math.prod(shape):>10,}  {dtype}"
            for path, shape, dtype in r.parameters
        ]
    return "\n".join(lines)
