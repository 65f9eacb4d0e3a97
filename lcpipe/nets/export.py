"""NetworkSnapshot (trainer step, model config, flax variables) -> lc0 .pb.gz.

Every NetworkFormat flag comes from the model configuration
(``mapping.network_format_of``), min_version from the features used
(``mapping.min_version_of``), training_steps from the snapshot's step; the
weights are encoded LINEAR16 (default) or FLOAT16 / BFLOAT16 / FLOAT32.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lcpipe.nets.layers import encoding_number
from lcpipe.nets.lc0net import Layer, Lc0Net, _iter_layers
from lcpipe.nets.mapping import min_version_of, to_lc0
from lcpipe.nets.schema import Enc
from lcpipe.types import NetworkSnapshot

LICENSE = None  # lc0 prints a license string when set; ours carry none


def _numpy_tree(tree):
    """jax arrays / frozen dicts -> plain dicts of numpy f32 arrays."""
    if isinstance(tree, dict) or hasattr(tree, "items"):
        return {k: _numpy_tree(v) for k, v in tree.items()}
    return np.asarray(tree, dtype=np.float32)


def snapshot_to_net(snapshot: NetworkSnapshot, encoding: str | int = "linear16") -> tuple[Lc0Net, list[str]]:
    """Build the ``Lc0Net`` of a snapshot (nothing written)."""
    from lcpipe.nets.import_ import trainer_normalize

    enc = encoding_number(encoding)
    cfg = trainer_normalize(snapshot.model)
    variables = _numpy_tree(snapshot.params)
    if "params" not in variables:
        variables = {"params": variables}
    weights, nf, notes = to_lc0(cfg, variables, int(snapshot.input_format))
    for _, layer in _iter_layers(weights, ""):
        layer.encoding = enc
        bad = ~np.isfinite(layer.values)
        if bad.any():
            raise ValueError("the network has non-finite weights; refusing to export it")
    net = Lc0Net(
        network_format=nf,
        weights=weights,
        min_version=min_version_of(cfg, nf, enc),
        weights_encoding=Enc.LINEAR16,  # per-layer encodings override this (lc0 >= 0.33)
        training_params={"training_steps": int(snapshot.step) & 0xFFFFFFFF},
        license=LICENSE,
    )
    return net, notes


def export_snapshot(
    snapshot: NetworkSnapshot, path: str | os.PathLike, encoding: str | int = "linear16"
) -> Path:
    """Write a snapshot as an lc0 network file (gzip, atomic)."""
    net, _ = snapshot_to_net(snapshot, encoding)
    return net.write(path)


__all__ = ["snapshot_to_net", "export_snapshot", "Layer"]
