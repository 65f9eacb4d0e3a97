"""`lcpipe train migrate`: carry a checkpoint's weights into the model and optimizer of a spec.

Per parameter (and batch-norm statistic), by its path in the tree:
- kept: the same path and shape in both;
- resized: the same path, another shape (a wider or narrower layer): the overlapping block
  is copied, the rest keeps the new model's initialisation;
- re-initialised: new in the spec's model (an added head, a deeper body);
- dropped: not in the spec's model (a removed head).
New residual blocks (a deeper resnet) start as a block that adds nothing: the last batch
norm of the block and its SE output are zero, so the block passes its input through its
activation; with relu that is the identity and the network computes what it did before.
The optimizer state is new (the spec's optimizer); the step count carries on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from lcpipe.train.tools.networks import load_network

_RESNET_BLOCK = re.compile(r"^body/block_(\d+)/")
# zeroed in a new residual block: the block's output before the skip connection is 0
_ZERO_IN_NEW_BLOCK = ("conv2/bn/scale", "conv2/bn/bias", "se/dense2/kernel", "se/dense2/bias")


@dataclass
class Migration:
    kept: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    identity_blocks: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    step: int = 0
    model: dict = field(default_factory=dict)


def _flat(tree, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for key, sub in (tree or {}).items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if hasattr(sub, "items"):
            out.update(_flat(sub, path))
        else:
            out[path] = np.asarray(sub)
    return out


def _nest(flat: dict[str, np.ndarray]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _resize(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The new array with the block both shapes share copied from the old one."""
    out = np.array(new, copy=True)
    common = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, new.shape))
    out[common] = old[common]
    return out


def plan_migration(source_tree: dict, target_tree: dict, kind: str, old_blocks: int, out: Migration) -> dict:
    """The target's arrays filled from the source's; records what happened to each path."""
    source, target = _flat(source_tree), _flat(target_tree)
    merged = {}
    for path, fresh in target.items():
        old = source.get(path)
        label = f"{kind}:{path}"
        if old is not None and old.shape == fresh.shape:
            merged[path] = old
            out.kept.append(label)
        elif old is not None and old.ndim == fresh.ndim:
            merged[path] = _resize(old, fresh)
            out.resized.append(f"{label} {list(old.shape)} -> {list(fresh.shape)}")
        else:
            block = _RESNET_BLOCK.match(path)
            if kind == "params" and block and int(block.group(1)) >= old_blocks and old_blocks:
                if path.endswith(_ZERO_IN_NEW_BLOCK):
                    fresh = np.zeros_like(fresh)
                name = f"body/block_{block.group(1)}"
                if name not in out.identity_blocks:
                    out.identity_blocks.append(name)
            merged[path] = fresh
            out.reinitialised.append(label)
    out.dropped.extend(f"{kind}:{p}" for p in source if p not in target)
    return _nest(merged)


def migrate(
    settings: dict, checkpoint: str, out_dir: str, step: int | None = None, seed: int | None = None
) -> Migration:
    """Write ``out_dir``: the spec's model and optimizer, holding the checkpoint's weights where they fit."""
    from lcpipe.train.checkpoints import plain_tree
    from lcpipe.train.tools.initialize import check_output_dir
    from lcpipe.train.trainer import Trainer, fetch

    path = check_output_dir(out_dir)
    snap = load_network(checkpoint, step)
    trainer = Trainer(settings)
    trainer.init(seed)
    state = trainer.state
    assert state is not None  # init() fills it
    result = Migration(step=int(snap.step))
    old_model = dict(snap.model)
    old_blocks = int(old_model.get("blocks", 0)) if old_model.get("body") == "resnet" else 0
    if settings["model"]["body"] != old_model.get("body"):
        old_blocks = 0
    variables = {
        "params": plan_migration(
            snap.params["params"], fetch(plain_tree(state["params"])), "params", old_blocks, result
        )
    }
    fresh_stats = fetch(plain_tree(state["batch_stats"]))
    if fresh_stats:
        variables["batch_stats"] = plan_migration(
            snap.params.get("batch_stats", {}), fresh_stats, "batch_stats", old_blocks, result
        )
    trainer.init_from_variables(variables, seed=seed, step=result.step)
    trainer.save(str(path), wait=True, extra={"source": str(checkpoint), "migrated_from_model": old_model})
    trainer.close()
    result.model = dict(trainer.model_config)
    return result
