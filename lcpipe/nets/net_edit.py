"""Weight-level edits of lc0 network files: average several, graft layers, change encodings.

All work on ``Lc0Net`` layers by their dotted paths (``residual.0.conv1.weights``,
``ip1_val_w``; ``lcpipe net describe --layers`` lists them). A layer whose values
change drops the bytes it was read with, so it is encoded afresh on writing.
Networks combined must have the same layers of the same sizes: a mismatch is
refused by name, never bridged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lcpipe.nets.layers import decode_layer, encode_layer, encoding_number
from lcpipe.nets.lc0net import Layer, Lc0Net

# The Weights fields of each head (lc0's net.proto), for `graft --head`.
HEADS = {
    "policy": (
        "policy1", "policy", "ip_pol_w", "ip_pol_b", "ip2_pol_w", "ip2_pol_b", "ip3_pol_w", "ip3_pol_b",
        "ip4_pol_w", "pol_encoder", "policy_heads",
    ),
    "value": ("value", "ip_val_w", "ip_val_b", "ip1_val_w", "ip1_val_b", "ip2_val_w", "ip2_val_b", "value_heads"),
    "moves_left": ("moves_left", "ip_mov_w", "ip_mov_b", "ip1_mov_w", "ip1_mov_b", "ip2_mov_w", "ip2_mov_b"),
}  # fmt: skip


class IncompatibleNets(ValueError):
    """Networks that cannot be combined (the message names the layer or flag)."""


def _layers(net: Lc0Net) -> dict[str, Layer]:
    return dict(net.iter_layers())


def check_same_layout(nets: Sequence[Lc0Net], names: Sequence[str]) -> None:
    """Raise IncompatibleNets unless every net has the first's format flags and layers (same sizes)."""
    first = _layers(nets[0])
    for net, name in zip(nets[1:], names[1:]):
        keys = set(net.network_format) | set(nets[0].network_format)
        differ = sorted(k for k in keys if net.fmt(k) != nets[0].fmt(k))  # a missing flag is 0
        if differ:
            raise IncompatibleNets(f"{name}: format differs from {names[0]} in {', '.join(differ)}")
        layers = _layers(net)
        missing = sorted(set(first) ^ set(layers))
        if missing:
            where = names[0] if missing[0] in first else name
            raise IncompatibleNets(f"layer {missing[0]} is only in {where} ({len(missing)} layers differ)")
        for path, layer in layers.items():
            if layer.size != first[path].size:
                raise IncompatibleNets(
                    f"layer {path}: {layer.size} values in {name}, {first[path].size} in {names[0]}"
                )


def _set(layer: Layer, values: np.ndarray) -> None:
    layer.values = np.asarray(values, dtype=np.float32).reshape(layer.values.shape)
    layer.raw = None  # encode the new values on writing


def average(nets: Sequence[Lc0Net], names: Sequence[str], weights: Sequence[float] | None = None) -> Lc0Net:
    """The weighted mean of every layer (weights normalised to sum 1; default equal), in the
    first network's header. The inputs are left untouched except the first, which is returned."""
    if len(nets) < 2:
        raise ValueError("average needs at least two networks")
    w = np.ones(len(nets)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != len(nets):
        raise ValueError(f"{len(w)} weights for {len(nets)} networks")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    w = w / w.sum()
    check_same_layout(nets, names)
    others = [_layers(n) for n in nets[1:]]
    for path, layer in _layers(nets[0]).items():
        total = w[0] * layer.values.astype(np.float64)
        for wi, layers in zip(w[1:], others):
            total += wi * layers[path].values
        _set(layer, total)
    return nets[0]


def select_layers(net: Lc0Net, patterns: Sequence[str], heads: Sequence[str]) -> list[str]:
    """Dotted paths of the layers named: a pattern is a path, a prefix of one (``residual.0``) or
    a glob (``residual.*.se.*``); a head takes all its fields. Raises ValueError for a name that
    matches nothing."""
    paths = [p for p, _ in net.iter_layers()]
    chosen: list[str] = []
    for head in heads:
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}: choose from {', '.join(HEADS)}")
        found = [p for p in paths if p.split(".")[0] in HEADS[head]]
        if not found:
            raise ValueError(f"the network has no {head} head")
        chosen += found
    for pattern in patterns:
        found = [
            p for p in paths if p == pattern or p.startswith(pattern + ".") or fnmatch.fnmatchcase(p, pattern)
        ]
        if not found:
            raise ValueError(f"no layer matches {pattern!r} (lcpipe net describe --layers lists them)")
        chosen += found
    return list(dict.fromkeys(chosen))


def graft(base: Lc0Net, donor: Lc0Net, paths: Sequence[str], donor_name: str = "donor") -> list[str]:
    """Copy the layers ``paths`` of ``donor`` into ``base`` (in place); every one must exist in both
    with the same size, else IncompatibleNets names it and nothing is changed."""
    base_layers, donor_layers = _layers(base), _layers(donor)
    for path in paths:
        if path not in base_layers:
            raise IncompatibleNets(f"layer {path} of {donor_name} has no place in the base network")
        if path not in donor_layers:
            raise IncompatibleNets(f"layer {path} is not in {donor_name}")
        if base_layers[path].size != donor_layers[path].size:
            raise IncompatibleNets(
                f"layer {path}: {donor_layers[path].size} values in {donor_name}, "
                f"{base_layers[path].size} in the base network"
            )
    for path in paths:
        _set(base_layers[path], donor_layers[path].values.copy())
    return list(paths)


@dataclass
class LayerError:
    path: str
    max_abs: float
    mean_abs: float
    scale: float  # largest magnitude in the layer, for a relative reading


def conversion_errors(net: Lc0Net, encoding: str | int) -> list[LayerError]:
    """Per layer, the error of re-encoding its current values with ``encoding`` (as written, then read
    back the way lc0 reads it)."""
    enc = encoding_number(encoding)
    out = []
    for path, layer in net.iter_layers():
        v = layer.values.astype(np.float32).ravel()
        back = decode_layer(encode_layer(v, enc), enc)
        diff = np.abs(back.astype(np.float64) - v) if v.size else np.zeros(1)
        scale = float(np.max(np.abs(v))) if v.size else 0.0
        out.append(LayerError(path, float(diff.max()), float(diff.mean()), scale))
    return out
