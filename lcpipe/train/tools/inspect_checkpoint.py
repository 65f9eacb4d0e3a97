"""`lcpipe train describe`: what a checkpoint holds, read from its metadata and state: the
step, the model, the optimizer and where its schedule stands, the averages, every parameter."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from lcpipe.train.tools.errors import ToolError


@dataclass
class CheckpointReport:
    directory: str
    step: int
    steps: list[int]
    meta: dict
    parameters: list[tuple[str, tuple, str]]  # path, shape, dtype
    # the averages it holds -> samples averaged: train.swa / train.ema stages by name (older
    # checkpoints: "swa" / "ema" kept in the trainer state, -1 where no count was kept)
    averages: dict[str, int] = field(default_factory=dict)
    scalars: dict[str, float] = field(default_factory=dict)  # loss_scale, nan_total, ...
    schedule_step: int | None = None
    lr: float | None = None
    schedule_note: str = ""

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(shape) for _, shape, _ in self.parameters)


def _leaves(tree, prefix: str = ""):
    if hasattr(tree, "items"):
        for key, sub in tree.items():
            yield from _leaves(sub, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, sub in enumerate(tree):
            yield from _leaves(sub, f"{prefix}/{i}")
    else:
        yield prefix, tree


SCALARS = ("swa_n", "loss_scale", "nan_total", "nan_consecutive", "spike_total", "lr_multiplier")


def read_report(directory: str, step: int | None = None, settings: dict | None = None) -> CheckpointReport:
    """``settings``: trainer settings to rebuild the optimizer with when the checkpoint records none."""
    import numpy as np
    import orbax.checkpoint as ocp

    from lcpipe.train.checkpoints import CheckpointError, read_checkpoint_meta

    try:
        step, meta = read_checkpoint_meta(directory, step)
    except CheckpointError as exc:
        raise ToolError(str(exc)) from None
    steps = sorted(int(d) for d in os.listdir(directory) if d.isdigit())
    path = os.path.join(os.path.abspath(directory), str(step), "state")
    with ocp.PyTreeCheckpointer() as ckptr:
        tree = ckptr.metadata(path).item_metadata
        params = [(p, tuple(m.shape), str(m.dtype)) for p, m in _leaves(tree["params"])]
        averages = {k: -1 for k in ("swa", "ema") if k in tree}
        wanted = {k: tree[k] for k in SCALARS if k in tree}
        got = {}
        if wanted:
            import jax

            abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), wanted)
            args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
            got = ckptr.restore(
                path, args=ocp.args.PyTreeRestore(item=abstract, restore_args=args, partial_restore=True)
            )
    scalars = {k: float(v) for k, v in got.items()}
    if "swa_n" in scalars:
        averages["swa"] = int(scalars.pop("swa_n"))
    averages.update(_stream_averages(directory, step, meta))
    report = CheckpointReport(directory, step, steps, meta, params, averages, scalars)
    _schedule_position(report, settings)
    return report


def _stream_averages(directory: str, step: int, meta: dict) -> dict[str, int]:
    """The samples each train.swa / train.ema stage's saved average holds, by stage name."""
    import numpy as np
    import orbax.checkpoint as ocp

    from lcpipe.train.checkpoints import STREAM_ITEM

    out = {}
    for name in meta.get("stream_items") or []:
        path = os.path.join(os.path.abspath(directory), str(step), STREAM_ITEM + name)
        with ocp.PyTreeCheckpointer() as ckptr:
            tree = ckptr.metadata(path).item_metadata
            got = ckptr.restore(
                path,
                args=ocp.args.PyTreeRestore(
                    item={"count": tree["count"]},
                    restore_args={"count": ocp.RestoreArgs(restore_type=np.ndarray)},
                    partial_restore=True,
                ),
            )
        out[name] = int(got["count"])
    return out


def _schedule_position(report: CheckpointReport, settings: dict | None) -> None:
    """The optimizer's own count of applied updates (what the lr schedule runs on) and its lr,
    by restoring the state into a trainer built with the recorded (or given) settings."""
    from lcpipe.train.settings import REMOVED_SETTINGS
    from lcpipe.train.trainer import Trainer, host, schedule_count

    recorded = report.meta.get("settings")
    # written before averaging was a stage: its swa / ema settings are not the trainer's any more
    given = {k: v for k, v in recorded.items() if k not in REMOVED_SETTINGS} if recorded else settings
    if not given:
        report.schedule_note = "unknown: the checkpoint records no optimizer settings (give --spec)"
        return
    try:
        trainer = Trainer(
            {**given, "model": report.meta["model"], "precision": report.meta.get("precision", "float32")}
        )
        trainer.restore(report.directory, report.step)
        state = trainer.state
        assert state is not None  # restore() fills it
        count = int(host(schedule_count(state["opt_state"])))
        report.schedule_step, report.lr = count, float(trainer.schedule(count))
        trainer.close()
    except Exception as exc:  # any mismatch only means the position cannot be told
        report.schedule_note = f"unknown: the optimizer state does not fit the settings ({exc})"
