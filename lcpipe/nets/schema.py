"""Our description of lc0's network protobuf (package ``pblczero``).

Field numbers are facts from lc0's public ``proto/net.proto``; the tables and
the generic codec below are ours. A decoded message is a plain ``dict``
(field name -> value; repeated fields -> list; sub-messages -> dict), so the
rest of lcpipe never sees wire details. Fields we do not know are kept under
``"_unknown"`` and written back unchanged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from lcpipe.nets import wire

MAGIC = 0x1C0


@dataclass(frozen=True)
class F:
    """One field: name, number, kind (a scalar kind or a message name)."""

    name: str
    number: int
    kind: str
    repeated: bool = False


# Scalar kinds understood by the codec.
SCALARS = {"uint32", "int32", "enum", "fixed32", "float", "string", "bytes"}

_LAYER_NAMES = None  # filled below


def _layers(*pairs: tuple[str, int]) -> list[F]:
    return [F(n, k, "Layer") for n, k in pairs]


MESSAGES: dict[str, list[F]] = {
    "EngineVersion": [F("major", 1, "uint32"), F("minor", 2, "uint32"), F("patch", 3, "uint32")],
    "Layer": [
        F("min_val", 1, "float"),
        F("max_val", 2, "float"),
        F("params", 3, "bytes"),
        F("encoding", 4, "enum"),
        F("dims", 5, "uint32", repeated=True),
    ],
    "ConvBlock": _layers(
        ("weights", 1), ("biases", 2), ("bn_means", 3), ("bn_stddivs", 4), ("bn_gammas", 5), ("bn_betas", 6)
    ),
    "SEunit": _layers(("w1", 1), ("b1", 2), ("w2", 3), ("b2", 4)),
    "Residual": [F("conv1", 1, "ConvBlock"), F("conv2", 2, "ConvBlock"), F("se", 3, "SEunit")],
    "Smolgen": _layers(
        ("compress", 1),
        ("dense1_w", 2),
        ("dense1_b", 3),
        ("ln1_gammas", 4),
        ("ln1_betas", 5),
        ("dense2_w", 6),
        ("dense2_b", 7),
        ("ln2_gammas", 8),
        ("ln2_betas", 9),
    ),
    "MHA": _layers(
        ("q_w", 1), ("q_b", 2), ("k_w", 3), ("k_b", 4), ("v_w", 5), ("v_b", 6), ("dense_w", 7), ("dense_b", 8)
    )
    + [F("smolgen", 9, "Smolgen")]
    + _layers(("rpe_q", 10), ("rpe_k", 11), ("rpe_v", 12)),
    "FFN": _layers(("dense1_w", 1), ("dense1_b", 2), ("dense2_w", 3), ("dense2_b", 4)),
    "EncoderLayer": [
        F("mha", 1, "MHA"),
        F("ln1_gammas", 2, "Layer"),
        F("ln1_betas", 3, "Layer"),
        F("ffn", 4, "FFN"),
        F("ln2_gammas", 5, "Layer"),
        F("ln2_betas", 6, "Layer"),
    ],
    "PolicyHead": _layers(
        ("ip_pol_w", 1),
        ("ip_pol_b", 2),
        ("ip2_pol_w", 3),
        ("ip2_pol_b", 4),
        ("ip3_pol_w", 5),
        ("ip3_pol_b", 6),
        ("ip4_pol_w", 7),
    )
    + [
        F("pol_encoder", 8, "EncoderLayer", repeated=True),
        F("pol_headcount", 9, "uint32"),
        F("policy1", 10, "ConvBlock"),
        F("policy", 11, "ConvBlock"),
    ],
    "ValueHead": _layers(
        ("ip_val_w", 1),
        ("ip_val_b", 2),
        ("ip1_val_w", 3),
        ("ip1_val_b", 4),
        ("ip2_val_w", 5),
        ("ip2_val_b", 6),
        ("ip_val_err_w", 7),
        ("ip_val_err_b", 8),
        ("ip_val_cat_w", 9),
        ("ip_val_cat_b", 10),
    )
    + [F("value", 11, "ConvBlock")],
    "PolicyHeadMap": [F("key", 1, "string"), F("value", 2, "PolicyHead")],
    "PolicyHeads": [
        F("ip_pol_w", 1, "Layer"),
        F("ip_pol_b", 2, "Layer"),
        F("vanilla", 3, "PolicyHead"),
        F("optimistic_st", 4, "PolicyHead"),
        F("soft", 5, "PolicyHead"),
        F("opponent", 6, "PolicyHead"),
        F("policy_head_map", 7, "PolicyHeadMap", repeated=True),
    ],
    "ValueHeadMap": [F("key", 1, "string"), F("value", 2, "ValueHead")],
    "ValueHeads": [
        F("winner", 1, "ValueHead"),
        F("q", 2, "ValueHead"),
        F("st", 3, "ValueHead"),
        F("value_head_map", 4, "ValueHeadMap", repeated=True),
    ],
    "Weights": [
        F("input", 1, "ConvBlock"),
        F("residual", 2, "Residual", repeated=True),
        F("policy", 3, "ConvBlock"),
        F("ip_pol_w", 4, "Layer"),
        F("ip_pol_b", 5, "Layer"),
        F("value", 6, "ConvBlock"),
        F("ip1_val_w", 7, "Layer"),
        F("ip1_val_b", 8, "Layer"),
        F("ip2_val_w", 9, "Layer"),
        F("ip2_val_b", 10, "Layer"),
        F("policy1", 11, "ConvBlock"),
        F("moves_left", 12, "ConvBlock"),
        F("ip1_mov_w", 13, "Layer"),
        F("ip1_mov_b", 14, "Layer"),
        F("ip2_mov_w", 15, "Layer"),
        F("ip2_mov_b", 16, "Layer"),
        F("ip2_pol_w", 17, "Layer"),
        F("ip2_pol_b", 18, "Layer"),
        F("ip3_pol_w", 19, "Layer"),
        F("ip3_pol_b", 20, "Layer"),
        F("pol_encoder", 21, "EncoderLayer", repeated=True),
        F("ip4_pol_w", 22, "Layer"),
        F("pol_headcount", 24, "uint32"),
        F("ip_emb_w", 25, "Layer"),
        F("ip_emb_b", 26, "Layer"),
        F("encoder", 27, "EncoderLayer", repeated=True),
        F("headcount", 28, "uint32"),
        F("ip_val_w", 29, "Layer"),
        F("ip_val_b", 30, "Layer"),
        F("ip_mov_w", 31, "Layer"),
        F("ip_mov_b", 32, "Layer"),
        F("ip_mult_gate", 33, "Layer"),
        F("ip_add_gate", 34, "Layer"),
        F("smolgen_w", 35, "Layer"),
        F("smolgen_b", 36, "Layer"),
        F("ip_emb_preproc_w", 37, "Layer"),
        F("ip_emb_preproc_b", 38, "Layer"),
        F("ip_emb_ln_gammas", 39, "Layer"),
        F("ip_emb_ln_betas", 40, "Layer"),
        F("ip_emb_ffn", 41, "FFN"),
        F("ip_emb_ffn_ln_gammas", 42, "Layer"),
        F("ip_emb_ffn_ln_betas", 43, "Layer"),
        F("value_heads", 44, "ValueHeads"),
        F("policy_heads", 45, "PolicyHeads"),
    ],
    "TrainingParams": [
        F("training_steps", 1, "uint32"),
        F("learning_rate", 2, "float"),
        F("mse_loss", 3, "float"),
        F("policy_loss", 4, "float"),
        F("accuracy", 5, "float"),
        F("lc0_params", 6, "string"),
    ],
    "NetworkFormat": [
        F("input", 1, "enum"),
        F("output", 2, "enum"),
        F("network", 3, "enum"),
        F("policy", 4, "enum"),
        F("value", 5, "enum"),
        F("moves_left", 6, "enum"),
        F("default_activation", 7, "enum"),
        F("smolgen_activation", 8, "enum"),
        F("ffn_activation", 9, "enum"),
        F("input_embedding", 10, "enum"),
    ],
    "Format": [F("weights_encoding", 1, "enum"), F("network_format", 2, "NetworkFormat")],
    "OnnxModel": [
        F("model", 1, "bytes"),
        F("data_type", 2, "enum"),
        F("input_planes", 3, "string"),
        F("output_value", 4, "string"),
        F("output_wdl", 5, "string"),
        F("output_policy", 6, "string"),
        F("output_mlh", 7, "string"),
    ],
    "BackendCache": [
        F("id", 1, "string"),
        F("x", 2, "int32"),
        F("y", 3, "int32"),
        F("z", 4, "int32"),
        F("val", 5, "bytes"),
    ],
    "Net": [
        F("magic", 1, "fixed32"),
        F("license", 2, "string"),
        F("min_version", 3, "EngineVersion"),
        F("format", 4, "Format"),
        F("training_params", 5, "TrainingParams"),
        F("weights", 10, "Weights"),
        F("onnx_model", 11, "OnnxModel"),
        F("backend_cache", 12, "BackendCache", repeated=True),
    ],
}

_BY_NUMBER = {m: {f.number: f for f in fs} for m, fs in MESSAGES.items()}
_BY_NAME = {m: {f.name: f for f in fs} for m, fs in MESSAGES.items()}


# --- enums (NetworkFormat and Layer), values from net.proto ----------------


class Enc:
    """Weights.Layer.Encoding."""

    UNKNOWN = 0
    LINEAR16 = 1
    FLOAT16 = 2
    BFLOAT16 = 3
    FLOAT32 = 4
    NAMES = {0: "UNKNOWN", 1: "LINEAR16", 2: "FLOAT16", 3: "BFLOAT16", 4: "FLOAT32"}


INPUT_FORMATS = {
    0: "UNKNOWN",
    1: "CLASSICAL_112_PLANE",
    2: "112_WITH_CASTLING_PLANE",
    3: "112_WITH_CANONICALIZATION",
    4: "112_WITH_CANONICALIZATION_HECTOPLIES",
    132: "112_WITH_CANONICALIZATION_HECTOPLIES_ARMAGEDDON",
    5: "112_WITH_CANONICALIZATION_V2",
    133: "112_WITH_CANONICALIZATION_V2_ARMAGEDDON",
}
OUTPUT = {0: "UNKNOWN", 1: "CLASSICAL", 2: "WDL"}
NETWORK = {
    0: "UNKNOWN",
    1: "CLASSICAL",
    2: "SE",
    3: "CLASSICAL_WITH_HEADFORMAT",
    4: "SE_WITH_HEADFORMAT",
    5: "ONNX",
    6: "ATTENTIONBODY_WITH_HEADFORMAT",
    7: "ATTENTIONBODY_WITH_MULTIHEADFORMAT",
    134: "AB_LEGACY_WITH_MULTIHEADFORMAT",
}
POLICY = {0: "UNKNOWN", 1: "CLASSICAL", 2: "CONVOLUTION", 3: "ATTENTION"}
VALUE = {0: "UNKNOWN", 1: "CLASSICAL", 2: "WDL", 3: "PARAM"}
MOVES_LEFT = {0: "NONE", 1: "V1"}
DEFAULT_ACTIVATION = {0: "RELU", 1: "MISH"}
ACTIVATION = {
    0: "DEFAULT",
    1: "MISH",
    2: "RELU",
    3: "NONE",
    4: "TANH",
    5: "SIGMOID",
    6: "SELU",
    7: "SWISH",
    8: "RELU_2",
    9: "SOFTMAX",
}
INPUT_EMBEDDING = {0: "NONE", 1: "PE_MAP", 2: "PE_DENSE"}

ENUMS_OF_FORMAT = {
    "input": INPUT_FORMATS,
    "output": OUTPUT,
    "network": NETWORK,
    "policy": POLICY,
    "value": VALUE,
    "moves_left": MOVES_LEFT,
    "default_activation": DEFAULT_ACTIVATION,
    "smolgen_activation": ACTIVATION,
    "ffn_activation": ACTIVATION,
    "input_embedding": INPUT_EMBEDDING,
}


def enum_value(table: dict[int, str], name: str) -> int:
    """Number of an enum name (case-insensitive), e.g. enum_value(ACTIVATION, 'mish') == 1."""
    for number, n in table.items():
        if n.lower() == name.lower():
            return number
    raise KeyError(f"unknown enum name {name!r}; known: {sorted(table.values())}")


# --- generic codec ---------------------------------------------------------


def decode(message: str, buf: bytes | memoryview) -> dict:
    """Decode ``buf`` as ``message`` into a dict (Layer params stay bytes)."""
    fields = _BY_NUMBER[message]
    out: dict = {}
    for number, wire_type, raw in wire.iter_fields(buf):
        spec = fields.get(number)
        if spec is None:
            out.setdefault("_unknown", []).append(
                (number, wire_type, bytes(raw) if isinstance(raw, memoryview) else raw)
            )
            continue
        if (
            spec.repeated
            and spec.kind in SCALARS
            and wire_type == wire.LEN
            and spec.kind not in ("string", "bytes")
            and not isinstance(raw, int)  # (a LEN field's value is always bytes)
        ):
            values = wire.unpack_varints(raw)  # packed encoding
            out.setdefault(spec.name, []).extend(values)
            continue
        value = _decode_value(spec, wire_type, raw)
        if spec.repeated:
            out.setdefault(spec.name, []).append(value)
        else:
            out[spec.name] = value  # last one wins, as protobuf says
    return out


def _decode_value(spec: F, wire_type: int, raw):
    kind = spec.kind
    expected = _wire_type_of(kind)
    if wire_type != expected:
        raise wire.WireError(f"field {spec.name} ({spec.number}): wire type {wire_type}, expected {expected}")
    if kind in ("uint32", "enum"):
        return int(raw) & 0xFFFFFFFF
    if kind == "int32":
        value = int(raw) & 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    if kind == "fixed32":
        return wire.fixed32_uint(raw)
    if kind == "float":
        return wire.fixed32_float(raw)
    if kind == "string":
        return bytes(raw).decode("utf-8", errors="replace")
    if kind == "bytes":
        return bytes(raw)
    return decode(kind, raw)


def _wire_type_of(kind: str) -> int:
    if kind in ("uint32", "int32", "enum"):
        return wire.VARINT
    if kind in ("fixed32", "float"):
        return wire.FIXED32
    return wire.LEN


def encode(message: str, value: dict) -> bytes:
    """Encode a dict made by ``decode`` (or by hand) back into wire bytes.

    Fields are written in field-number order; repeated scalars unpacked (the
    proto2 default, which every protobuf parser accepts).
    """
    fields = _BY_NAME[message]
    unknown_names = set(value) - set(fields) - {"_unknown"}
    if unknown_names:
        raise KeyError(f"{message} has no field(s) {sorted(unknown_names)}")
    parts: list[tuple[int, bytes]] = []
    for name, v in value.items():
        if name == "_unknown" or v is None:
            continue
        spec = fields[name]
        items = v if spec.repeated else [v]
        for item in items:
            parts.append((spec.number, _encode_value(spec, item)))
    for number, wire_type, raw in value.get("_unknown", []):
        if wire_type == wire.VARINT:
            parts.append((number, wire.field_varint(number, raw)))
        elif wire_type == wire.LEN:
            parts.append((number, wire.field_bytes(number, raw)))
        else:
            parts.append((number, wire.key(number, wire_type) + raw))
    parts.sort(key=lambda p: p[0])  # stable: repeated fields keep their order
    return b"".join(p[1] for p in parts)


def _encode_value(spec: F, v) -> bytes:
    kind, n = spec.kind, spec.number
    if kind in ("uint32", "enum"):
        return wire.field_varint(n, int(v))
    if kind == "int32":
        return wire.field_varint(n, int(v))
    if kind == "fixed32":
        return wire.field_fixed32(n, int(v))
    if kind == "float":
        return wire.field_float(n, float(v))
    if kind == "string":
        return wire.field_bytes(n, str(v).encode("utf-8"))
    if kind == "bytes":
        return wire.field_bytes(n, bytes(v))
    return wire.field_bytes(n, encode(kind, v))


def float32(x: float) -> float:
    """Round a Python float to float32 (what a float field holds)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]
