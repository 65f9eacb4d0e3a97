"""Human-readable summary of an lc0 network file."""

from __future__ import annotations

from collections import Counter

from lcpipe.nets.lc0net import Lc0Net
from lcpipe.nets.schema import Enc


def architecture(net: Lc0Net) -> dict:
    """Body and head sizes read off the weights (no trainer needed)."""
    w = net.weights
    info: dict = {}
    if w.get("residual"):
        blocks = w["residual"]
        info["body"] = "residual"
        info["blocks"] = len(blocks)
        info["filters"] = w["input"]["weights"].size // (112 * 9)
        info["se_width"] = blocks[0]["se"]["b1"].size if "se" in blocks[0] else 0
    elif w.get("encoder"):
        enc = w["encoder"]
        info["body"] = "attention"
        info["encoder_layers"] = len(enc)
        info["d_model"] = w["ip_emb_b"].size if "ip_emb_b" in w else None
        info["heads"] = w.get("headcount")
        info["dff"] = enc[0]["ffn"]["dense1_b"].size if "ffn" in enc[0] else None
        info["smolgen"] = "smolgen" in enc[0].get("mha", {})
    else:
        info["body"] = "none"
    if "policy_heads" in w:
        ph = w["policy_heads"]
        info["policy_heads"] = [k for k in ("vanilla", "optimistic_st", "soft", "opponent") if k in ph] + [
            e["key"] for e in ph.get("policy_head_map", [])
        ]
    if "value_heads" in w:
        vh = w["value_heads"]
        info["value_heads"] = [k for k in ("winner", "q", "st") if k in vh] + [
            e["key"] for e in vh.get("value_head_map", [])
        ]
    return info


def describe(net: Lc0Net) -> str:
    lines = []
    mv = ".".join(str(x) for x in net.min_version)
    lines.append(f"magic 0x{net.magic:x}, min lc0 version {mv}")
    tp = net.training_params
    if tp:
        lines.append(
            "training: "
            + ", ".join(
                f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in tp.items()
                if k != "_unknown"
            )
        )
    lines.append(
        "format: " + ", ".join(f"{k}={net.fmt_name(k)}" for k in net.network_format if k != "_unknown")
    )
    arch = architecture(net)
    lines.append("architecture: " + ", ".join(f"{k}={v}" for k, v in arch.items()))
    layers = list(net.iter_layers())
    encs = Counter(Enc.NAMES.get(layer.encoding, str(layer.encoding)) for _, layer in layers)
    lines.append(
        f"parameters: {net.param_count():,} in {len(layers)} layers; encodings: "
        + ", ".join(f"{k} x{v}" for k, v in encs.items())
    )
    for path, layer in layers:
        enc = Enc.NAMES.get(layer.encoding, str(layer.encoding))
        dims = "x".join(map(str, layer.dims)) if layer.dims else "-"
        lo = float(layer.values.min()) if layer.size else 0.0
        hi = float(layer.values.max()) if layer.size else 0.0
        lines.append(f"  {path:<40} {layer.size:>9,}  {enc:<8} dims {dims:<14} [{lo:+.4g}, {hi:+.4g}]")
    return "\n".join(lines)
