"""Reading what a train.jax checkpoint holds, without building a trainer.

A checkpoint directory holds one subdirectory per saved step with the
trainer state (``state``: params, optimizer state, batch_stats, SWA/EMA
averages, step) and its metadata (``meta``: the model configuration,
precision, where the run started). Exporting a network, playing it in the
arena or starting a run from its weights needs only the weights and the
model configuration: those are read here, whatever optimizer wrote the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

from lcpipe.types import NetworkSnapshot

# The checkpoint item of a weight-stream consumer (train.swa, train.ema): this + its stage name.
STREAM_ITEM = "stream."


class CheckpointError(ValueError):
    """A directory that is not a usable train.jax checkpoint, with the reason."""


def read_checkpoint_meta(directory: str | Path, step: int | None = None) -> tuple[int, dict]:
    """(step, meta) of a checkpoint (its newest step unless ``step``), without building a model."""
    import orbax.checkpoint as ocp

    if not Path(directory).is_dir():
        raise CheckpointError(f"{directory}: not a checkpoint directory")
    mgr = ocp.CheckpointManager(str(Path(directory).resolve()))
    try:
        step = mgr.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"{directory}: no checkpoint in this directory")
        try:
            got = mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{directory}: cannot read step {step}: {exc}") from None
    finally:
        mgr.close()
    return int(step), dict(got["meta"])


def checkpoint_weights(directory: str | Path, step: int, kind: str = "raw") -> dict:
    """params (or an average), batch_stats and step of one saved step, whatever the rest of the
    state holds (another optimizer's state, averages or not). ``kind``: "raw", or the stage name of
    a train.swa / train.ema stage whose average the checkpoint holds (a checkpoint written before
    averaging was a stage holds "swa" / "ema" in its state). Arrays come back as numpy."""
    import jax
    import numpy as np
    import orbax.checkpoint as ocp

    step_dir = os.path.join(os.path.abspath(directory), str(step))
    if kind != "raw" and os.path.isdir(os.path.join(step_dir, STREAM_ITEM + kind)):
        return _average_weights(step_dir, kind)
    path = os.path.join(step_dir, "state")
    source = "params" if kind == "raw" else kind
    with ocp.PyTreeCheckpointer() as ckptr:
        tree = ckptr.metadata(path).item_metadata
        if source not in tree or not jax.tree.leaves(tree[source]):
            raise CheckpointError(
                f"{directory}: step {step} holds no {kind} weights (kind: raw, or the name of a "
                "train.swa / train.ema stage of the run that wrote it)"
            )
        # an average has its own batch-norm statistics (recomputed for its weights) when it was saved
        stats = f"{kind}_batch_stats" if f"{kind}_batch_stats" in tree else "batch_stats"
        keys = [k for k in (source, stats, "step") if k in tree and jax.tree.leaves(tree[k])]
        abstract = {k: jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), tree[k]) for k in keys}
        restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
        got = ckptr.restore(
            path, args=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args, partial_restore=True)
        )
    return {
        "params": plain_tree(got[source]),
        "batch_stats": plain_tree(got.get(stats, {})),
        "step": got.get("step", 0),
    }


def _average_weights(step_dir: str, name: str) -> dict:
    """The average a weight-stream consumer saved beside the trainer state, as numpy."""
    import jax
    import numpy as np
    import orbax.checkpoint as ocp

    with ocp.PyTreeCheckpointer() as ckptr:
        path = os.path.join(step_dir, STREAM_ITEM + name)
        tree = ckptr.metadata(path).item_metadata
        abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), dict(tree))
        restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
        got = ckptr.restore(path, args=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args))
    return {
        "params": plain_tree(got["average"]),
        "batch_stats": plain_tree(got.get("batch_stats", {})),
        "step": int(os.path.basename(step_dir)),
    }


def checkpoint_snapshot(directory: str | Path, step: int | None = None, kind: str = "raw") -> NetworkSnapshot:
    """The network of a checkpoint step (the newest unless ``step``): its ``kind`` weights and the
    model configuration recorded with them."""
    step, meta = read_checkpoint_meta(directory, step)
    if not meta.get("model"):
        raise CheckpointError(f"{directory}: step {step} records no model configuration")
    weights = checkpoint_weights(directory, step, kind)
    variables = {"params": weights["params"]}
    if weights["batch_stats"]:
        variables["batch_stats"] = weights["batch_stats"]
    return NetworkSnapshot(
        step=step,
        model=dict(meta["model"]),
        params=variables,
        kind=kind,
        extra={"precision": meta.get("precision", "float32")},
    )


def plain_tree(tree):
    """FrozenDict / Mapping -> plain nested dicts."""
    if hasattr(tree, "items"):
        return {k: plain_tree(v) for k, v in tree.items()}
    return tree
