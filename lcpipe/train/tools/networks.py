"""A network to evaluate or carry on from: a train.jax checkpoint directory or an lc0 .pb.gz,
read with the checkpoint reader and the nets importer the rest of lcpipe uses."""

from __future__ import annotations

from pathlib import Path

from lcpipe.train.tools.errors import ToolError
from lcpipe.types import NetworkSnapshot


def is_lc0_file(path: str) -> bool:
    return str(path).endswith((".pb.gz", ".pb"))


def load_network(path: str, step: int | None = None, kind: str = "raw") -> NetworkSnapshot:
    """The weights and model configuration of a checkpoint (its ``step``, default newest) or a .pb.gz."""
    if is_lc0_file(path):
        from lcpipe.nets.import_ import UnsupportedNetwork, import_net
        from lcpipe.nets.lc0net import NetFileError

        if not Path(path).is_file():
            raise ToolError(f"{path}: no such network file")
        try:
            return import_net(path).snapshot()
        except (OSError, NetFileError) as exc:
            raise ToolError(f"{path}: {exc}") from None
        except UnsupportedNetwork as exc:
            raise ToolError(f"{path}: cannot import: {exc}") from None
    from lcpipe.train.checkpoints import CheckpointError, checkpoint_snapshot

    try:
        return checkpoint_snapshot(path, step, kind)
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        raise ToolError(str(exc)) from None


def trainer_for(settings: dict, snapshot: NetworkSnapshot):
    """A Trainer with the spec's settings (losses, optimizer, ...) holding the snapshot's network."""
    from lcpipe.train.trainer import Trainer

    trainer = Trainer({**settings, "model": dict(snapshot.model)})
    trainer.init_from_variables(snapshot.params, step=int(snapshot.step))
    return trainer


def model_differences(a: dict, b: dict) -> list[str]:
    """'key: a -> b' for each model setting that differs (both normalised by the caller)."""
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
