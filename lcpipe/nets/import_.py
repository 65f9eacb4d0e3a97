"""lc0 network file -> trainer model configuration and flax variables.

The file is read and upgraded as lc0's loader upgrades old files, then
mapped by ``lcpipe.nets.mapping``. A network our models cannot represent
raises ``UnsupportedNetwork`` whose message names the missing feature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from lcpipe.nets.lc0net import Lc0Net
from lcpipe.nets.mapping import UnsupportedNetwork, from_lc0
from lcpipe.types import NetworkSnapshot

__all__ = ["ImportedNet", "import_net", "UnsupportedNetwork"]


@dataclass
class ImportedNet:
    """What an import gives: a full model config and flax variables."""

    model: dict[str, Any]
    variables: dict[str, Any]
    input_format: int
    step: int
    notes: list[str] = field(default_factory=list)

    def snapshot(self) -> NetworkSnapshot:
        return NetworkSnapshot(
            step=self.step,
            model=self.model,
            params=self.variables,
            input_format=self.input_format,
            extra={"imported": True, "notes": self.notes},
        )


def trainer_normalize(cfg: dict) -> dict:
    """The trainer's own normalisation of ``model:`` settings (defaults filled)."""
    from lcpipe.model.config import normalize  # pure python, no jax

    return normalize(cfg)


def import_net(source: str | os.PathLike | Lc0Net) -> ImportedNet:
    """Import a .pb.gz path (or an already read ``Lc0Net``)."""
    if isinstance(source, Lc0Net):
        net = source
        notes = net.upgrade()
    else:
        net = Lc0Net.read(source)
        notes = net.upgrade()
    cfg, variables, more = from_lc0(net)
    try:
        model = trainer_normalize(cfg)
    except ValueError as e:
        raise UnsupportedNetwork(
            f"the derived model configuration is not accepted by the trainer: {e}"
        ) from None
    return ImportedNet(
        model=model,
        variables=variables,
        input_format=int(net.network_format.get("input", 1)),
        step=int(net.training_params.get("training_steps", 0)),
        notes=notes + more,
    )
