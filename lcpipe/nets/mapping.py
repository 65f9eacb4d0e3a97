"""Our flax parameter trees <-> lc0's Weights message (both directions).

One module holds both directions so that every rule is written once next to
its inverse (docs/lc0-weights-mapping.md is the prose version):

- dense kernels: flax [in, out], lc0 [out][in];
- conv kernels: flax HWIO [kh, kw, in, out], lc0 [out][in][kh][kw];
- batch norm: flax scale/bias + batch_stats mean/var <-> lc0 bn_gammas,
  bn_betas, bn_means, bn_stddivs (the variance, despite the name), eps 1e-5;
  an lc0 conv bias b is absorbed into the running mean (mean - b);
- input gates: flax [64, D] square-major, lc0 [D][64];
- attention promotion weights: flax [Pd, 4], lc0 [4][Pd];
- plane 109 (rule50): the engine feeds the raw count for input formats 1-3
  and our tensors divide it by 99, so the weights that read plane 109 are
  multiplied by 99 on import and divided by 99 on export (formats >= 4 scale
  by 100 on both sides: nothing to do).

``to_lc0`` returns the Weights tree (Layer objects) and the NetworkFormat;
``from_lc0`` returns the model config and {"params", "batch_stats"}.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lcpipe.nets.lc0net import Layer, Lc0Net
from lcpipe.nets.schema import ACTIVATION, enum_value

RULE50_PLANE = 109
BN_EPS = 1e-5
LC0_POLICY_HEADS = {
    "vanilla": "vanilla",
    "optimistic": "optimistic_st",
    "soft": "soft",
    "opponent": "opponent",
}
LC0_VALUE_HEADS = ("winner", "q", "st")


class UnsupportedNetwork(ValueError):
    """The file uses a feature our models cannot represent (message names it)."""


def rule50_factor(input_format: int) -> float:
    """How much larger the engine's plane 109 is than ours."""
    return 99.0 if input_format in (1, 2, 3) else 1.0


# --- small converters --------------------------------------------------------


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def L(values, dims: tuple[int, ...] = ()) -> Layer:
    v = _f32(values)
    return Layer(values=np.ascontiguousarray(v).ravel(), dims=tuple(dims) or tuple(v.shape))


def dense_out(p: dict, wname: str, bname: str | None = None) -> dict:
    """flax Dense {kernel [in,out], bias} -> {wname: [out][in], bname: [out]}."""
    out = {wname: L(_f32(p["kernel"]).T)}
    if bname is not None and "bias" in p:
        out[bname] = L(p["bias"])
    return out


def dense_in(w: Layer, b: Layer | None, n_in: int | None = None) -> dict:
    """lc0 [out][in] (+ bias) -> flax Dense {kernel [in,out], bias}."""
    if b is not None:
        n_out = b.size
        kernel = w.values.reshape(n_out, -1).T
    else:
        if n_in is None:
            raise ValueError("a dense layer without bias needs its input size")
        kernel = w.values.reshape(-1, n_in).T
    out = {"kernel": np.ascontiguousarray(kernel, dtype=np.float32)}
    if b is not None:
        out["bias"] = b.values.copy()
    return out


def convbn_out(p: dict, s: dict) -> dict:
    """flax ConvBN (conv/kernel, bn/*) -> lc0 ConvBlock with bn_* fields."""
    k = _f32(p["conv"]["kernel"])  # [kh, kw, in, out]
    return {
        "weights": L(k.transpose(3, 2, 0, 1)),
        "bn_means": L(s["bn"]["mean"]),
        "bn_stddivs": L(s["bn"]["var"]),
        "bn_gammas": L(p["bn"]["scale"]),
        "bn_betas": L(p["bn"]["bias"]),
    }


def convbn_in(block: dict, kernel: int, what: str) -> tuple[dict, dict]:
    """lc0 ConvBlock -> (params {conv, bn}, batch_stats {bn})."""
    if "weights" not in block:
        raise UnsupportedNetwork(f"{what}: conv block without weights")
    bias = block.get("biases")
    means = block.get("bn_means")
    out_ch = means.size if means is not None else bias.size if bias is not None else None
    if out_ch is None:
        raise UnsupportedNetwork(f"{what}: conv block without biases or batch norm")
    w = block["weights"].values.reshape(out_ch, -1, kernel, kernel)
    b = bias.values[:out_ch] if bias is not None else np.zeros(out_ch, np.float32)
    if means is not None:
        mean = means.values - b
        var = block["bn_stddivs"].values.copy()
        gam = block.get("bn_gammas")
        bet = block.get("bn_betas")
        scale = gam.values.copy() if gam is not None and gam.size else np.ones(out_ch, np.float32)
        beta = bet.values.copy() if bet is not None and bet.size else np.zeros(out_ch, np.float32)
    else:  # bias only: an identity batch norm that adds the bias
        mean = -b
        var = np.full(out_ch, 1.0 - BN_EPS, np.float32)
        scale = np.ones(out_ch, np.float32)
        beta = np.zeros(out_ch, np.float32)
    params = {
        "conv": {"kernel": np.ascontiguousarray(w.transpose(2, 3, 1, 0))},
        "bn": {"scale": _f32(scale), "bias": _f32(beta)},
    }
    stats = {"bn": {"mean": _f32(mean), "var": _f32(var)}}
    return params, stats


def conv_out(p: dict) -> dict:
    """flax Conv with bias -> lc0 ConvBlock {weights, biases}."""
    return {"weights": L(_f32(p["kernel"]).transpose(3, 2, 0, 1)), "biases": L(p["bias"])}


def conv_in(block: dict, kernel: int) -> dict:
    b = block["biases"].values
    w = block["weights"].values.reshape(b.size, -1, kernel, kernel)
    return {"kernel": np.ascontiguousarray(w.transpose(2, 3, 1, 0)), "bias": b.copy()}


def ln_out(p: dict, gname: str, bname: str) -> dict:
    return {gname: L(p["scale"]), bname: L(p["bias"])}


def ln_in(g: Layer | None, b: Layer | None, what: str) -> dict:
    if g is None or b is None:
        raise UnsupportedNetwork(f"missing layer norm {what}")
    return {"scale": g.values.copy(), "bias": b.values.copy()}


def _act_name(number: int, default: str) -> str:
    name = ACTIVATION.get(number, "DEFAULT").lower()
    return default if name == "default" else name


# --- export: flax -> lc0 -----------------------------------------------------


def network_format_of(cfg: dict, input_format: int) -> dict[str, int]:
    """Every NetworkFormat flag, derived from the model configuration."""
    act = cfg["activation"].lower()
    if act not in ("relu", "mish"):
        raise UnsupportedNetwork(f"lc0's default activation can be relu or mish, not {act!r}")
    policy = {"conv": 2, "classical": 1, "attention": 3}[
        cfg["policy_type"] if cfg["body"] == "resnet" else "attention"
    ]
    nf = {
        "input": int(input_format),
        "output": 2,  # our value heads are always WDL
        "policy": policy,
        "value": 2,
        "moves_left": 1 if cfg["moves_left"] else 0,
        "default_activation": 1 if act == "mish" else 0,
    }
    if cfg["body"] == "resnet":
        nf["network"] = 4 if cfg["se_ratio"] else 3
    else:
        nf["network"] = 7
        nf["input_embedding"] = 2  # PE_DENSE
        ffn = cfg["ffn_activation"]
        nf["ffn_activation"] = 0 if ffn == "default" else enum_value(ACTIVATION, ffn)
        if cfg["smolgen"]:
            sm = cfg["smolgen_activation"]
            nf["smolgen_activation"] = 0 if sm == "default" else enum_value(ACTIVATION, sm)
    return nf


def min_version_of(cfg: dict, nf: dict[str, int], encoding: int) -> tuple[int, int, int]:
    """The oldest lc0 that runs every feature used (our table, see docs)."""
    v = (0, 21, 0)  # SE + WDL + conv policy (what the Maia files declare)
    need = [v]
    if nf.get("moves_left"):
        need.append((0, 26, 0))
    if nf.get("default_activation") == 1:
        need.append((0, 27, 0))
    if nf.get("policy") == 3:
        need.append((0, 28, 0))
    if nf.get("network") in (6, 7):
        need.append((0, 29, 0))
    if nf.get("input_embedding") == 2 or cfg.get("body") == "transformer" and cfg.get("smolgen"):
        need.append((0, 30, 0))
    if nf.get("network") == 7:
        need.append((0, 31, 0))
    if encoding != 1:
        need.append((0, 33, 0))
    return max(need)


def _scale_plane109(kernel: np.ndarray, axis_in: int, factor: float) -> np.ndarray:
    k = np.array(kernel, dtype=np.float32, copy=True)
    idx: list[slice | int] = [slice(None)] * k.ndim
    idx[axis_in] = RULE50_PLANE
    k[tuple(idx)] *= np.float32(factor)
    return k


def to_lc0(cfg: dict, variables: dict, input_format: int = 1) -> tuple[dict, dict[str, int], list[str]]:
    """(Weights tree, NetworkFormat, notes) for a trainer model's variables."""
    params = variables["params"]
    stats = variables.get("batch_stats", {})
    nf = network_format_of(cfg, input_format)
    notes: list[str] = []
    factor = rule50_factor(input_format)
    if cfg["body"] == "resnet":
        w = _resnet_out(cfg, params, stats, factor, notes)
    else:
        w = _transformer_out(cfg, params, factor, notes)
    return w, nf, notes


def _resnet_out(cfg, params, stats, factor, notes) -> dict:
    body, bstats = params["body"], stats.get("body", {})
    inp = {
        "conv": {"kernel": _scale_plane109(body["input"]["conv"]["kernel"], 2, 1.0 / factor)},
        "bn": body["input"]["bn"],
    }
    w: dict[str, Any] = {"input": convbn_out(inp, bstats["input"]), "residual": []}
    for i in range(cfg["blocks"]):
        blk, bs = body[f"block_{i}"], bstats[f"block_{i}"]
        res = {"conv1": convbn_out(blk["conv1"], bs["conv1"]), "conv2": convbn_out(blk["conv2"], bs["conv2"])}
        if "se" in blk:
            res["se"] = {
                **dense_out(blk["se"]["dense1"], "w1", "b1"),
                **dense_out(blk["se"]["dense2"], "w2", "b2"),
            }
        w["residual"].append(res)
    pol, pst = params["policy_vanilla"], stats.get("policy_vanilla", {})
    ptype = cfg["policy_type"]
    if ptype == "conv":
        w["policy1"] = convbn_out(pol["conv1"], pst["conv1"])
        w["policy"] = conv_out(pol["conv2"])
    elif ptype == "classical":
        w["policy"] = convbn_out(pol["conv"], pst["conv"])
        w.update(dense_out(pol["dense"], "ip_pol_w", "ip_pol_b"))
    else:
        w.update(dense_out(params["policy_embedding"], "ip_pol_w", "ip_pol_b"))
        w.update(_attention_policy_out(pol))
    val, vst = params["value_winner"], stats["value_winner"]
    w["value"] = convbn_out(val["embedding"], vst["embedding"])
    w.update(dense_out(val["dense1"], "ip1_val_w", "ip1_val_b"))
    w.update(dense_out(val["dense2"], "ip2_val_w", "ip2_val_b"))
    if cfg["moves_left"]:
        ml, mst = params["moves_left"], stats["moves_left"]
        w["moves_left"] = convbn_out(ml["embedding"], mst["embedding"])
        w.update(dense_out(ml["dense1"], "ip1_mov_w", "ip1_mov_b"))
        w.update(dense_out(ml["dense2"], "ip2_mov_w", "ip2_mov_b"))
    extra = [h for h in cfg["policy_heads"] if h != "vanilla"] + [
        h for h in cfg["value_heads"] if h != "winner"
    ]
    if extra:
        notes.append(f"a residual network file holds one policy and one value head: not exported {extra}")
    if cfg["value_error"] or cfg["value_categorical"]:
        notes.append("value error / categorical outputs are training-only and not exported for residual nets")
    return w


def _attention_policy_out(pol: dict) -> dict:
    """One attention policy head without the (shared) embedding."""
    out = dense_out(pol["wq"], "ip2_pol_w", "ip2_pol_b")
    out.update(dense_out(pol["wk"], "ip3_pol_w", "ip3_pol_b"))
    out["ip4_pol_w"] = L(_f32(pol["promotion"]).T)
    return out


def _ffn_out(p: dict, d1: str = "ffn_dense1", d2: str = "ffn_dense2") -> dict:
    return {**dense_out(p[d1], "dense1_w", "dense1_b"), **dense_out(p[d2], "dense2_w", "dense2_b")}


def _transformer_out(cfg, params, factor, notes) -> dict:
    body = params["body"]
    emb = body["embedding"]
    dense = dict(emb["dense"])
    dense["kernel"] = _scale_plane109(dense["kernel"], 0, 1.0 / factor)
    w: dict[str, Any] = {}
    w.update(dense_out(emb["preprocess"], "ip_emb_preproc_w", "ip_emb_preproc_b"))
    w.update(dense_out(dense, "ip_emb_w", "ip_emb_b"))
    w.update(ln_out(emb["ln"], "ip_emb_ln_gammas", "ip_emb_ln_betas"))
    w["ip_mult_gate"] = L(_f32(emb["mult_gate"]).T)
    w["ip_add_gate"] = L(_f32(emb["add_gate"]).T)
    w["ip_emb_ffn"] = _ffn_out(emb)
    w.update(ln_out(emb["ffn_ln"], "ip_emb_ffn_ln_gammas", "ip_emb_ffn_ln_betas"))
    enc = []
    for i in range(cfg["encoder_layers"]):
        e = body[f"encoder_{i}"]
        mha = {
            **dense_out(e["q"], "q_w", "q_b"),
            **dense_out(e["k"], "k_w", "k_b"),
            **dense_out(e["v"], "v_w", "v_b"),
            **dense_out(e["out"], "dense_w", "dense_b"),
        }
        if "smolgen" in e:
            s = e["smolgen"]
            mha["smolgen"] = {
                "compress": L(_f32(s["compress"]["kernel"]).T),
                **dense_out(s["dense1"], "dense1_w", "dense1_b"),
                **ln_out(s["ln1"], "ln1_gammas", "ln1_betas"),
                **dense_out(s["dense2"], "dense2_w", "dense2_b"),
                **ln_out(s["ln2"], "ln2_gammas", "ln2_betas"),
            }
        enc.append(
            {
                "mha": mha,
                **ln_out(e["ln1"], "ln1_gammas", "ln1_betas"),
                "ffn": _ffn_out(e),
                **ln_out(e["ln2"], "ln2_gammas", "ln2_betas"),
            }
        )
    w["encoder"] = enc
    w["headcount"] = int(cfg["heads"])
    if cfg["smolgen"]:
        w["smolgen_w"] = L(_f32(body["smolgen_w"]["kernel"]).T)
    # policy heads: one shared embedding (policy_heads.ip_pol_w/b), then each head's Q/K/promotion
    heads: dict[str, Any] = dense_out(params["policy_embedding"], "ip_pol_w", "ip_pol_b")
    for name in cfg["policy_heads"]:
        head = _attention_policy_out(params[f"policy_{name}"])
        field = LC0_POLICY_HEADS.get(name)
        if field:
            heads[field] = head
        else:
            heads.setdefault("policy_head_map", []).append({"key": name, "value": head})
    w["policy_heads"] = heads
    vheads: dict[str, Any] = {}
    for name in cfg["value_heads"]:
        v = params[f"value_{name}"]
        vh = {
            **dense_out(v["embedding"], "ip_val_w", "ip_val_b"),
            **dense_out(v["dense1"], "ip1_val_w", "ip1_val_b"),
            **dense_out(v["dense2"], "ip2_val_w", "ip2_val_b"),
        }
        if "error" in v:
            vh.update(dense_out(v["error"], "ip_val_err_w", "ip_val_err_b"))
        if "categorical" in v:
            vh.update(dense_out(v["categorical"], "ip_val_cat_w", "ip_val_cat_b"))
        vheads[name] = vh
    w["value_heads"] = vheads
    if cfg["moves_left"]:
        ml = params["moves_left"]
        w.update(dense_out(ml["embedding"], "ip_mov_w", "ip_mov_b"))
        w.update(dense_out(ml["dense1"], "ip1_mov_w", "ip1_mov_b"))
        w.update(dense_out(ml["dense2"], "ip2_mov_w", "ip2_mov_b"))
    return w


# --- import: lc0 -> flax -----------------------------------------------------


def from_lc0(net: Lc0Net) -> tuple[dict, dict, list[str]]:
    """(model config, {"params", "batch_stats"}, notes) for an (upgraded) lc0 net."""
    nf = net.network_format
    network = nf.get("network", 0)
    if network in (3, 4):
        return _resnet_in(net)
    if network in (6, 7):
        return _transformer_in(net)
    raise UnsupportedNetwork(f"network structure {network} ({net.fmt_name('network')}) is not supported")


def _activation(nf: dict) -> str:
    return "mish" if nf.get("default_activation", 0) == 1 else "relu"


def _value_head_in(
    w1: Layer, b1: Layer, w2: Layer, b2: Layer, wdl: bool, notes: list[str]
) -> tuple[dict, dict]:
    d1 = dense_in(w1, b1)
    if wdl:
        return d1, dense_in(w2, b2)
    # A classical (tanh) value head becomes WDL logits (v, -inf, -v): then
    # W - L = tanh(v) exactly and D = 0.
    k = w2.values.reshape(1, -1)
    b = b2.values.reshape(1)
    kernel = np.concatenate([k, np.zeros_like(k), -k]).T
    bias = np.array([b[0], -1e4, -b[0]], np.float32)
    notes.append("classical value head imported as WDL logits (v, -1e4, -v): q = tanh(v), d = 0")
    return d1, {"kernel": _f32(kernel), "bias": bias}


def _resnet_in(net: Lc0Net) -> tuple[dict, dict, list[str]]:
    nf, w = net.network_format, net.weights
    notes: list[str] = []
    if w.get("encoder"):
        raise UnsupportedNetwork("residual tower combined with attention encoders is not supported")
    inp = w.get("input")
    if not inp or "weights" not in inp:
        raise UnsupportedNetwork("no input convolution")
    filters = inp["weights"].size // (112 * 9)
    if filters * 112 * 9 != inp["weights"].size:
        raise UnsupportedNetwork(f"input convolution has {inp['weights'].size} weights, not 112*9*filters")
    blocks = w.get("residual", [])
    se_hidden = {blk["se"]["b1"].size if "se" in blk else 0 for blk in blocks}
    if len(se_hidden) > 1:
        raise UnsupportedNetwork("squeeze-excitation in some residual blocks but not others")
    hidden = se_hidden.pop() if se_hidden else 0
    se_ratio = 0
    if hidden:
        if filters % hidden:
            raise UnsupportedNetwork(f"SE width {hidden} does not divide the {filters} filters")
        se_ratio = filters // hidden
    cfg: dict[str, Any] = {
        "body": "resnet",
        "activation": _activation(nf),
        "filters": filters,
        "blocks": len(blocks),
        "se_ratio": se_ratio,
        "bn_epsilon": BN_EPS,
        "policy_heads": ["vanilla"],
        "value_heads": ["winner"],
    }
    params: dict[str, Any] = {"body": {}}
    stats: dict[str, Any] = {"body": {}}
    p, s = convbn_in(inp, 3, "input")
    p["conv"]["kernel"] = _scale_plane109(p["conv"]["kernel"], 2, rule50_factor(nf.get("input", 1)))
    params["body"]["input"], stats["body"]["input"] = p, s
    for i, blk in enumerate(blocks):
        bp, bs = {}, {}
        bp["conv1"], bs["conv1"] = convbn_in(blk["conv1"], 3, f"residual {i} conv1")
        bp["conv2"], bs["conv2"] = convbn_in(blk["conv2"], 3, f"residual {i} conv2")
        if "se" in blk:
            se = blk["se"]
            bp["se"] = {"dense1": dense_in(se["w1"], se["b1"]), "dense2": dense_in(se["w2"], se["b2"])}
        params["body"][f"block_{i}"], stats["body"][f"block_{i}"] = bp, bs
    # policy
    policy = nf.get("policy", 0)
    if policy == 2:
        cfg["policy_type"] = "conv"
        pol = w.get("policy", {})
        if "biases" not in pol or pol["biases"].size != 80:
            raise UnsupportedNetwork("convolutional policy head without 80 output planes")
        pp, ps = {}, {}
        pp["conv1"], ps["conv1"] = convbn_in(w["policy1"], 3, "policy1")
        if pp["conv1"]["conv"]["kernel"].shape[-1] != filters:
            raise UnsupportedNetwork("conv policy head whose first conv width differs from the filters")
        pp["conv2"] = conv_in(pol, 3)
        params["policy_vanilla"], stats["policy_vanilla"] = pp, ps
    elif policy == 1:
        cfg["policy_type"] = "classical"
        pp, ps = {}, {}
        pp["conv"], ps["conv"] = convbn_in(w["policy"], 1, "policy")
        cfg["policy_channels"] = pp["conv"]["conv"]["kernel"].shape[-1]
        pp["dense"] = dense_in(w["ip_pol_w"], w["ip_pol_b"])
        params["policy_vanilla"], stats["policy_vanilla"] = pp, ps
    elif policy == 3:
        cfg["policy_type"] = "attention"
        if w.get("pol_encoder"):
            raise UnsupportedNetwork("attention policy with policy encoder layers is not supported")
        params["policy_embedding"] = _policy_embedding_in(w["ip_pol_w"], w["ip_pol_b"], cfg)
        params["policy_vanilla"] = _attention_policy_in(w, cfg)
    else:
        raise UnsupportedNetwork(f"policy format {policy} is not supported")
    # value
    if "value" not in w:
        raise UnsupportedNetwork("no value head")
    vp, vs = {}, {}
    vp["embedding"], vs["embedding"] = convbn_in(w["value"], 1, "value")
    cfg["value_channels"] = vp["embedding"]["conv"]["kernel"].shape[-1]
    cfg["value_hidden"] = w["ip1_val_b"].size
    vp["dense1"], vp["dense2"] = _value_head_in(
        w["ip1_val_w"], w["ip1_val_b"], w["ip2_val_w"], w["ip2_val_b"], nf.get("value", 1) == 2, notes
    )
    params["value_winner"], stats["value_winner"] = vp, vs
    # moves left
    cfg["moves_left"] = nf.get("moves_left", 0) == 1 and "moves_left" in w
    if cfg["moves_left"]:
        mp, ms = {}, {}
        mp["embedding"], ms["embedding"] = convbn_in(w["moves_left"], 1, "moves_left")
        cfg["moves_left_channels"] = mp["embedding"]["conv"]["kernel"].shape[-1]
        cfg["moves_left_hidden"] = w["ip1_mov_b"].size
        mp["dense1"] = dense_in(w["ip1_mov_w"], w["ip1_mov_b"])
        mp["dense2"] = dense_in(w["ip2_mov_w"], w["ip2_mov_b"])
        params["moves_left"], stats["moves_left"] = mp, ms
    return cfg, {"params": params, "batch_stats": stats}, notes


def _policy_embedding_in(emb_w: Layer, emb_b: Layer, cfg: dict) -> dict:
    """The shared attention policy embedding (sets ``policy_embedding`` in cfg)."""
    cfg["policy_embedding"] = emb_b.size
    return dense_in(emb_w, emb_b)


def _attention_policy_in(head: dict, cfg: dict) -> dict:
    """One attention policy head's Q/K/promotion weights (all heads must have one width)."""
    for k in ("ip2_pol_w", "ip2_pol_b", "ip3_pol_w", "ip3_pol_b", "ip4_pol_w"):
        if k not in head:
            raise UnsupportedNetwork(f"attention policy head without {k}")
    pd = head["ip2_pol_b"].size
    if cfg.setdefault("policy_d_model", pd) != pd:
        raise UnsupportedNetwork("policy heads of different widths")
    return {
        "wq": dense_in(head["ip2_pol_w"], head["ip2_pol_b"]),
        "wk": dense_in(head["ip3_pol_w"], head["ip3_pol_b"]),
        "promotion": np.ascontiguousarray(head["ip4_pol_w"].values.reshape(4, pd).T),
    }


def _ffn_in(f: dict) -> dict:
    return {
        "ffn_dense1": dense_in(f["dense1_w"], f["dense1_b"]),
        "ffn_dense2": dense_in(f["dense2_w"], f["dense2_b"]),
    }


def _transformer_in(net: Lc0Net) -> tuple[dict, dict, list[str]]:
    nf, w = net.network_format, net.weights
    notes: list[str] = []
    if w.get("residual"):
        raise UnsupportedNetwork("attention body with a residual tower in front (hybrid) is not supported")
    if nf.get("input_embedding", 0) != 2:
        raise UnsupportedNetwork(
            f"attention body with input embedding {net.fmt_name('input_embedding')}: only PE_DENSE "
            "(dense positional preprocessing) is supported; PE_MAP nets need the fixed positional map"
        )
    for k in ("ip_emb_preproc_w", "ip_emb_w", "ip_emb_ln_gammas", "ip_emb_ffn", "ip_emb_ffn_ln_gammas"):
        if k not in w:
            raise UnsupportedNetwork(f"attention body without {k}")
    if nf.get("policy", 0) != 3:
        raise UnsupportedNetwork("attention body without attention policy")
    enc = w.get("encoder", [])
    if not enc:
        raise UnsupportedNetwork("attention body without encoder layers")
    d_model = w["ip_emb_b"].size
    heads = int(w.get("headcount", 0))
    if not heads:
        raise UnsupportedNetwork("attention body without headcount")
    smolgen = "smolgen" in enc[0]["mha"]
    if any(("smolgen" in e["mha"]) != smolgen for e in enc):
        raise UnsupportedNetwork("smolgen in some encoder layers but not others")
    if smolgen and "smolgen_w" not in w:
        raise UnsupportedNetwork("smolgen without the shared smolgen_w")
    if "smolgen_b" in w:
        raise UnsupportedNetwork("smolgen_b (a bias on the shared smolgen generator) is not supported")
    for e in enc:
        if any(k in e["mha"] for k in ("rpe_q", "rpe_k", "rpe_v")):
            raise UnsupportedNetwork("relative position encodings (rpe_q/k/v) are not supported")
    act = _activation(nf)
    cfg: dict[str, Any] = {
        "body": "transformer",
        "activation": act,
        "d_model": d_model,
        "embedding_dense": w["ip_emb_preproc_b"].size // 64,
        "embedding_dff": w["ip_emb_ffn"]["dense1_b"].size,
        "encoder_layers": len(enc),
        "heads": heads,
        "dff": enc[0]["ffn"]["dense1_b"].size,
        "ffn_activation": _act_name(nf.get("ffn_activation", 0), "default"),
        "smolgen": smolgen,
        "dropout": 0.0,
    }
    if smolgen:
        sg = enc[0]["mha"]["smolgen"]
        cfg["smolgen_hidden_channels"] = sg["compress"].size // d_model
        cfg["smolgen_hidden_size"] = sg["dense1_b"].size
        cfg["smolgen_gen_size"] = sg["dense2_b"].size // heads
        cfg["smolgen_activation"] = _act_name(nf.get("smolgen_activation", 0), "default")
    factor = rule50_factor(nf.get("input", 1))
    emb: dict[str, Any] = {
        "preprocess": dense_in(w["ip_emb_preproc_w"], w["ip_emb_preproc_b"]),
        "dense": dense_in(w["ip_emb_w"], w["ip_emb_b"]),
        "ln": ln_in(w.get("ip_emb_ln_gammas"), w.get("ip_emb_ln_betas"), "ip_emb_ln"),
        "ffn_ln": ln_in(w.get("ip_emb_ffn_ln_gammas"), w.get("ip_emb_ffn_ln_betas"), "ip_emb_ffn_ln"),
        **_ffn_in(w["ip_emb_ffn"]),
    }
    emb["dense"]["kernel"] = _scale_plane109(emb["dense"]["kernel"], 0, factor)
    if "ip_mult_gate" in w and "ip_add_gate" in w:
        emb["mult_gate"] = np.ascontiguousarray(w["ip_mult_gate"].values.reshape(d_model, 64).T)
        emb["add_gate"] = np.ascontiguousarray(w["ip_add_gate"].values.reshape(d_model, 64).T)
    else:  # lc0 skips the gating unless both are present: identity gates
        emb["mult_gate"] = np.ones((64, d_model), np.float32)
        emb["add_gate"] = np.zeros((64, d_model), np.float32)
    body: dict[str, Any] = {"embedding": emb}
    for i, e in enumerate(enc):
        m = e["mha"]
        layer = {
            "q": dense_in(m["q_w"], m["q_b"]),
            "k": dense_in(m["k_w"], m["k_b"]),
            "v": dense_in(m["v_w"], m["v_b"]),
            "out": dense_in(m["dense_w"], m["dense_b"]),
            "ln1": ln_in(e.get("ln1_gammas"), e.get("ln1_betas"), f"encoder {i} ln1"),
            "ln2": ln_in(e.get("ln2_gammas"), e.get("ln2_betas"), f"encoder {i} ln2"),
            **_ffn_in(e["ffn"]),
        }
        if smolgen:
            sg = m["smolgen"]
            layer["smolgen"] = {
                "compress": {"kernel": np.ascontiguousarray(sg["compress"].values.reshape(-1, d_model).T)},
                "dense1": dense_in(sg["dense1_w"], sg["dense1_b"]),
                "ln1": ln_in(sg.get("ln1_gammas"), sg.get("ln1_betas"), "smolgen ln1"),
                "dense2": dense_in(sg["dense2_w"], sg["dense2_b"]),
                "ln2": ln_in(sg.get("ln2_gammas"), sg.get("ln2_betas"), "smolgen ln2"),
            }
        body[f"encoder_{i}"] = layer
    if smolgen:
        body["smolgen_w"] = {"kernel": np.ascontiguousarray(w["smolgen_w"].values.reshape(4096, -1).T)}
    params: dict[str, Any] = {"body": body}
    # policy heads (shared embedding)
    ph = w.get("policy_heads", {})
    emb_w = ph.get("ip_pol_w", w.get("ip_pol_w"))
    emb_b = ph.get("ip_pol_b", w.get("ip_pol_b"))
    if emb_w is None or emb_b is None:
        raise UnsupportedNetwork("attention policy without its embedding (ip_pol_w)")
    pol_heads = {"vanilla": ph.get("vanilla", w)}
    for ours, field in LC0_POLICY_HEADS.items():
        if field in ph and ours != "vanilla":
            pol_heads[ours] = ph[field]
    for entry in ph.get("policy_head_map", []):
        if entry["key"] in ("next",):
            pol_heads[entry["key"]] = entry["value"]
        else:
            notes.append(f"policy head {entry['key']!r} is unknown to the trainer; skipped")
    params["policy_embedding"] = _policy_embedding_in(emb_w, emb_b, cfg)
    for name, head in pol_heads.items():
        if head.get("pol_encoder"):
            raise UnsupportedNetwork(f"policy head {name!r} with policy encoder layers is not supported")
        if head is not w:  # lc0 lets a head override the shared embedding with its own ip_pol_w/b
            for key, shared in (("ip_pol_w", emb_w), ("ip_pol_b", emb_b)):
                own = head.get(key)
                if own is not None and own.size and not np.array_equal(own.values, shared.values):
                    raise UnsupportedNetwork(
                        f"policy head {name!r} has its own embedding (PolicyHead.{key}); the trainer's "
                        "attention policy heads share one embedding (policy_heads.ip_pol_w/b)"
                    )
        params[f"policy_{name}"] = _attention_policy_in(head, cfg)
    cfg["policy_heads"] = list(pol_heads)
    # value heads
    vh = w.get("value_heads", {})
    val_heads = {n: vh[n] for n in LC0_VALUE_HEADS if n in vh} or {"winner": w}
    if "winner" not in val_heads:
        raise UnsupportedNetwork("no 'winner' value head")
    wdl = nf.get("value", 1) == 2
    errors = []
    for name, head in val_heads.items():
        for k in ("ip_val_w", "ip_val_b", "ip1_val_w", "ip1_val_b", "ip2_val_w", "ip2_val_b"):
            if k not in head:
                raise UnsupportedNetwork(f"value head {name!r} without {k}")
        vp: dict[str, Any] = {"embedding": dense_in(head["ip_val_w"], head["ip_val_b"])}
        vp["dense1"], vp["dense2"] = _value_head_in(
            head["ip1_val_w"], head["ip1_val_b"], head["ip2_val_w"], head["ip2_val_b"], wdl, notes
        )
        for key, val in (("value_channels", head["ip_val_b"].size), ("value_hidden", head["ip1_val_b"].size)):
            if cfg.setdefault(key, val) != val:
                raise UnsupportedNetwork("value heads of different widths")
        if "ip_val_err_w" in head:
            vp["error"] = dense_in(head["ip_val_err_w"], head["ip_val_err_b"])
            errors.append(name)
        if "ip_val_cat_w" in head:
            vp["categorical"] = dense_in(head["ip_val_cat_w"], head["ip_val_cat_b"])
            cfg["value_categorical"] = head["ip_val_cat_b"].size
        params[f"value_{name}"] = vp
    cfg["value_heads"] = list(val_heads)
    cfg["value_error"] = errors
    cfg["moves_left"] = nf.get("moves_left", 0) == 1 and "ip_mov_w" in w
    if cfg["moves_left"]:
        params["moves_left"] = {
            "embedding": dense_in(w["ip_mov_w"], w["ip_mov_b"]),
            "dense1": dense_in(w["ip1_mov_w"], w["ip1_mov_b"]),
            "dense2": dense_in(w["ip2_mov_w"], w["ip2_mov_b"]),
        }
        cfg["moves_left_channels"] = w["ip_mov_b"].size
        cfg["moves_left_hidden"] = w["ip1_mov_b"].size
    return cfg, {"params": params}, notes
