"""An lc0 network file (.pb.gz) as a Python object, read and written.

``Lc0Net.read(path)`` gives the header (magic, min_version, format flags,
training params) and the weights as a nested dict that mirrors lc0's
``Weights`` message, every ``Layer`` replaced by a ``Layer`` object holding
float32 numpy values. ``write`` encodes, gzips and replaces the file
atomically. ``upgrade`` applies the fixes lc0 itself applies to old files.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lcpipe.fileio import atomic_write
from lcpipe.nets import schema
from lcpipe.nets.layers import decode_layer, encode_layer, encoding_number
from lcpipe.nets.schema import MAGIC, Enc


class NetFileError(ValueError):
    """The file is not a network lc0 could load (message says why)."""


@dataclass
class Layer:
    """One weight tensor: float32 values (flat) and how the file stored them."""

    values: np.ndarray
    encoding: int = Enc.LINEAR16
    dims: tuple[int, ...] = ()
    raw: dict | None = field(default=None, repr=False)  # the file's bytes, reused when unchanged

    @property
    def size(self) -> int:
        return int(self.values.size)

    def to_dict(self, encoding: int | None) -> dict:
        enc = self.encoding if encoding is None else encoding
        if self.raw is not None and (self.raw.get("encoding") or Enc.LINEAR16) == enc:
            return self.raw
        return encode_layer(self.values, enc, self.dims or None)


def _is_layer_field(message: str, name: str) -> bool:
    spec = schema._BY_NAME[message].get(name)
    return spec is not None and spec.kind == "Layer"


def _wrap(message: str, value: dict, default_enc: int) -> dict:
    """Replace every Layer dict in a decoded message by a Layer object."""
    out: dict = {}
    for name, v in value.items():
        if name == "_unknown":
            out[name] = v
            continue
        spec = schema._BY_NAME[message][name]
        if spec.kind == "Layer":
            out[name] = _to_layer(v, default_enc)
        elif spec.kind in schema.MESSAGES:
            out[name] = (
                [_wrap(spec.kind, x, default_enc) for x in v]
                if spec.repeated
                else _wrap(spec.kind, v, default_enc)
            )
        else:
            out[name] = v
    return out


def _to_layer(d: dict, default_enc: int) -> Layer:
    enc = d.get("encoding") or default_enc or Enc.LINEAR16
    values = decode_layer(d, enc)
    return Layer(values=values, encoding=enc, dims=tuple(d.get("dims", ())), raw=d)


def _unwrap(message: str, value: dict, encoding: int | None) -> dict:
    out: dict = {}
    for name, v in value.items():
        if name == "_unknown":
            out[name] = v
            continue
        spec = schema._BY_NAME[message][name]
        if spec.kind == "Layer":
            out[name] = v.to_dict(encoding) if isinstance(v, Layer) else v
        elif spec.kind in schema.MESSAGES:
            out[name] = (
                [_unwrap(spec.kind, x, encoding) for x in v]
                if spec.repeated
                else _unwrap(spec.kind, v, encoding)
            )
        else:
            out[name] = v
    return out


@dataclass
class Lc0Net:
    """A decoded network file. ``weights`` mirrors lc0's Weights message."""

    network_format: dict[str, int]
    weights: dict[str, Any]
    min_version: tuple[int, int, int] = (0, 0, 0)
    weights_encoding: int = Enc.LINEAR16
    training_params: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    magic: int = MAGIC
    has_network_format: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # unknown Net fields, onnx, caches

    # --- reading -------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> Lc0Net:
        try:
            msg = schema.decode("Net", data)
        except (ValueError, KeyError) as e:
            raise NetFileError(f"not an lc0 network protobuf: {e}") from None
        magic = msg.get("magic", 0)
        if magic != MAGIC:
            raise NetFileError(f"bad magic 0x{magic:x} (an lc0 network has 0x{MAGIC:x})")
        fmt = msg.get("format", {})
        default_enc = fmt.get("weights_encoding", 0)
        mv = msg.get("min_version", {})
        extra = {k: msg[k] for k in ("onnx_model", "backend_cache", "_unknown") if k in msg}
        if "weights" not in msg:
            raise NetFileError("the file has no weights (ONNX-only networks are not supported)")
        return cls(
            network_format=dict(fmt.get("network_format", {})),
            has_network_format="network_format" in fmt,
            weights=_wrap("Weights", msg["weights"], default_enc),
            min_version=(mv.get("major", 0), mv.get("minor", 0), mv.get("patch", 0)),
            weights_encoding=default_enc,
            training_params=dict(msg.get("training_params", {})),
            license=msg.get("license"),
            magic=magic,
            extra=extra,
        )

    @classmethod
    def read(cls, path: str | os.PathLike) -> Lc0Net:
        """Read a .pb.gz (or an uncompressed .pb) file."""
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as e:
                raise NetFileError(f"{path}: corrupt gzip: {e}") from None
        if raw[:2] in (b"1\n", b"2\n"):
            raise NetFileError(f"{path}: text-format weights (pre-protobuf lc0) are not supported")
        return cls.from_bytes(raw)

    # --- writing -------------------------------------------------------
    def to_bytes(self, encoding: int | str | None = None) -> bytes:
        """Serialise; ``encoding`` re-encodes every layer (None keeps each layer's)."""
        enc = None if encoding is None else encoding_number(encoding)
        msg: dict = {"magic": self.magic}
        if self.license is not None:
            msg["license"] = self.license
        msg["min_version"] = dict(zip(("major", "minor", "patch"), self.min_version))
        fmt: dict = {"weights_encoding": self.weights_encoding}
        if self.has_network_format:
            fmt["network_format"] = dict(self.network_format)
        msg["format"] = fmt
        if self.training_params:
            msg["training_params"] = dict(self.training_params)
        msg["weights"] = _unwrap("Weights", self.weights, enc)
        for k in ("onnx_model", "backend_cache"):
            if k in self.extra:
                msg[k] = self.extra[k]
        if "_unknown" in self.extra:
            msg["_unknown"] = self.extra["_unknown"]
        return schema.encode("Net", msg)

    def write(self, path: str | os.PathLike, encoding: int | str | None = None) -> Path:
        """gzip and write atomically (temp file in the same dir, then rename)."""
        return write_atomic(path, gzip.compress(self.to_bytes(encoding), compresslevel=9, mtime=0))

    # --- inspection ----------------------------------------------------
    def iter_layers(self) -> Iterator[tuple[str, Layer]]:
        """(dotted path, Layer) for every weight tensor, in field order."""
        yield from _iter_layers(self.weights, "")

    def layer(self, path: str) -> Layer | None:
        """The layer at a dotted path like ``residual.0.conv1.weights``."""
        node: Any = self.weights
        for part in path.split("."):
            if isinstance(node, list):
                node = node[int(part)] if int(part) < len(node) else None
            elif isinstance(node, dict):
                node = node.get(part)
            if node is None:
                return None
        return node if isinstance(node, Layer) else None

    def fmt(self, key: str) -> int:
        return int(self.network_format.get(key, 0))

    def fmt_name(self, key: str) -> str:
        return schema.ENUMS_OF_FORMAT[key].get(self.fmt(key), str(self.fmt(key)))

    def param_count(self) -> int:
        return sum(layer.size for _, layer in self.iter_layers())

    # --- lc0's upgrade of old files ----------------------------------------
    def upgrade(self) -> list[str]:
        """Apply lc0's loader fixes for older files; returns what changed."""
        notes: list[str] = []
        nf = self.network_format
        w = self.weights
        if not self.has_network_format:
            nf.update(input=1, output=1, network=3, value=1, policy=1)
            self.has_network_format = True
            notes.append("no network format: classical 112 planes, classical net and heads")
        elif nf.get("network", 0) == 1:
            nf.update(network=3, value=1, policy=1)
            notes.append("NETWORK_CLASSICAL -> CLASSICAL_WITH_HEADFORMAT, classical heads")
        elif nf.get("network", 0) == 2:
            nf.update(network=4, value=1, policy=1)
            notes.append("NETWORK_SE -> SE_WITH_HEADFORMAT, classical heads")
        elif nf.get("network", 0) == 4 and w.get("encoder"):
            nf["network"] = 6
            notes.append("SE_WITH_HEADFORMAT with encoders -> ATTENTIONBODY_WITH_HEADFORMAT")
            if "smolgen_w" in w:
                nf.update(ffn_activation=8, smolgen_activation=7)
                notes.append("smolgen in an old attention body: ffn RELU_2, smolgen SWISH")
        elif nf.get("network", 0) == 134:
            nf["network"] = 7
            notes.append("AB_LEGACY_WITH_MULTIHEADFORMAT -> ATTENTIONBODY_WITH_MULTIHEADFORMAT")
        if nf.get("network", 0) == 6:
            if "policy_heads" in w and "value_heads" in w:
                nf["network"] = 7
                nf["input_embedding"] = 2
                notes.append("multi-head weights -> ATTENTIONBODY_WITH_MULTIHEADFORMAT, PE_DENSE")
            if "input_embedding" not in nf:
                nf["input_embedding"] = 1
                notes.append("attention body without input embedding flag -> PE_MAP")
        return notes


def _iter_layers(node: Any, prefix: str) -> Iterator[tuple[str, Layer]]:
    if isinstance(node, Layer):
        yield prefix, node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k != "_unknown":
                yield from _iter_layers(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _iter_layers(v, f"{prefix}.{i}")


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes atomically and durably (networks are precious)."""
    return atomic_write(path, data, fsync=True)


def read_net(path: str | os.PathLike, upgrade: bool = True) -> Lc0Net:
    """Read a network file, upgraded the way lc0's loader upgrades it."""
    net = Lc0Net.read(path)
    if upgrade:
        net.upgrade()
    return net
