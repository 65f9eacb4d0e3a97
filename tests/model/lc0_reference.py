"""A plain-numpy forward pass written the way the lc0 engine computes it.

It takes weights in lc0's layouts (conv [out][in][kh][kw], dense [out][in],
gates [C][64], BN folded into conv biases), converted from our flax trees
following docs/parameters.md, and runs NCHW / [64, C] math. The tests check
that the flax models produce the same outputs.
"""

from __future__ import annotations

import numpy as np

from lcpipe.lc0.policy import ATTENTION_GATHER, CONV_GATHER


def act(name, x):
    if name == "mish":
        return x * np.tanh(np.log1p(np.exp(x)))
    if name == "relu":
        return np.maximum(x, 0)
    if name == "swish":
        return x / (1 + np.exp(-x))
    if name == "selu":
        return 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))
    if name == "relu_2":
        return np.maximum(x, 0) ** 2
    raise ValueError(name)


def to_lc0_dense(p):
    return np.asarray(p["kernel"]).T, np.asarray(p.get("bias", 0.0))


def fold_conv(conv, bn, stats, eps):
    """lc0 form: weights [out][in][kh][kw] with BN folded into scale and bias."""
    w = np.transpose(np.asarray(conv["kernel"]), (3, 2, 0, 1))
    s = np.asarray(bn["scale"]) / np.sqrt(np.asarray(stats["var"]) + eps)
    b = np.asarray(bn["bias"]) - np.asarray(stats["mean"]) * s
    return w * s[:, None, None, None], b


def conv_nchw(x, w, b):
    """x [B,C,8,8], w [O,C,k,k], 'same' padding."""
    k = w.shape[-1]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((x.shape[0], w.shape[0], 8, 8))
    for i in range(k):
        for j in range(k):
            out += np.einsum("bchw,oc->bohw", xp[:, :, i : i + 8, j : j + 8], w[:, :, i, j])
    return out + b[None, :, None, None]


def fc(x, wb, activation=None):
    w, b = wb
    y = x @ w.T + b
    return act(activation, y) if activation else y


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def layer_norm(x, p, eps, skip=None, alpha=1.0):
    x = x * alpha + (skip if skip is not None else 0)
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * np.asarray(p["scale"]) + np.asarray(p["bias"])


def resnet_forward(variables, cfg, planes):
    P, S = variables["params"], variables["batch_stats"]
    eps, a = cfg["bn_epsilon"], cfg["activation"]
    B = planes.shape[0]
    x = np.asarray(planes, np.float64)

    def cbn(path_p, path_s, inp, activation=True):
        w, b = fold_conv(path_p["conv"], path_p["bn"], path_s["bn"], eps)
        y = conv_nchw(inp, w, b)
        return act(a, y) if activation else y

    body, sbody = P["body"], S["body"]
    x = cbn(body["input"], sbody["input"], x)
    for i in range(cfg["blocks"]):
        blk, sblk = body[f"block_{i}"], sbody[f"block_{i}"]
        h = cbn(blk["conv1"], sblk["conv1"], x)
        h = cbn(blk["conv2"], sblk["conv2"], h, activation=False)
        if "se" in blk:
            pooled = h.mean(axis=(2, 3))
            z = fc(fc(pooled, to_lc0_dense(blk["se"]["dense1"]), a), to_lc0_dense(blk["se"]["dense2"]))
            C = h.shape[1]
            gamma = 1 / (1 + np.exp(-z[:, :C]))
            h = gamma[:, :, None, None] * h + z[:, C:, None, None]
        x = act(a, h + x)
    out = {}
    pol = P["policy_vanilla"]
    if cfg["policy_type"] == "conv":
        h = cbn(pol["conv1"], S["policy_vanilla"]["conv1"], x)
        w = np.transpose(np.asarray(pol["conv2"]["kernel"]), (3, 2, 0, 1))
        h = conv_nchw(h, w, np.asarray(pol["conv2"]["bias"])).reshape(B, -1)
        out["policy"] = h[:, CONV_GATHER]
    else:
        h = cbn(pol["conv"], S["policy_vanilla"]["conv"], x).reshape(B, -1)
        out["policy"] = fc(h, to_lc0_dense(pol["dense"]))
    v = P["value_winner"]
    h = cbn(v["embedding"], S["value_winner"]["embedding"], x).reshape(B, -1)
    h = fc(h, to_lc0_dense(v["dense1"]), a)
    out["wdl"] = softmax(fc(h, to_lc0_dense(v["dense2"])))
    m = P["moves_left"]
    h = cbn(m["embedding"], S["moves_left"]["embedding"], x).reshape(B, -1)
    h = fc(h, to_lc0_dense(m["dense1"]), a)
    out["moves_left"] = np.maximum(fc(h, to_lc0_dense(m["dense2"])), 0)[:, 0]
    return out


def transformer_forward(variables, cfg, planes):
    P = variables["params"]["body"]
    a = cfg["activation"]
    ffn_a = a if cfg["ffn_activation"] == "default" else cfg["ffn_activation"]
    smol_a = a if cfg["smolgen_activation"] == "default" else cfg["smolgen_activation"]
    B = planes.shape[0]
    n = cfg["encoder_layers"]
    alpha = (2.0 * n) ** -0.25
    x_nchw = np.asarray(planes, np.float64).reshape(B, 112, 64)
    emb = P["embedding"]
    # NCHW -> NHWC of the 12 piece planes, dense preprocess.
    pre = np.transpose(x_nchw[:, :12, :], (0, 2, 1)).reshape(B, 64 * 12)
    pos = fc(pre, to_lc0_dense(emb["preprocess"])).reshape(B, 64, -1)
    tokens = np.concatenate([np.transpose(x_nchw, (0, 2, 1)), pos], axis=-1)
    x = fc(tokens, to_lc0_dense(emb["dense"]), a)
    x = layer_norm(x, emb["ln"], 1e-3)
    mult = np.asarray(emb["mult_gate"]).T  # lc0 stores [C][64]
    add = np.asarray(emb["add_gate"]).T
    x = x * mult.T[None] + add.T[None]
    f = fc(fc(x, to_lc0_dense(emb["ffn_dense1"]), ffn_a), to_lc0_dense(emb["ffn_dense2"]))
    x = layer_norm(f, emb["ffn_ln"], 1e-3, skip=x, alpha=alpha)
    H = cfg["heads"]
    D = cfg["d_model"]
    depth = D // H
    for i in range(n):
        L = P[f"encoder_{i}"]
        q = fc(x, to_lc0_dense(L["q"])).reshape(B, 64, H, depth)
        k = fc(x, to_lc0_dense(L["k"])).reshape(B, 64, H, depth)
        v = fc(x, to_lc0_dense(L["v"])).reshape(B, 64, H, depth)
        logits = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(depth)
        if cfg["smolgen"]:
            sg = L["smolgen"]
            h = (x @ np.asarray(sg["compress"]["kernel"])).reshape(B, -1)
            h = layer_norm(fc(h, to_lc0_dense(sg["dense1"]), smol_a), sg["ln1"], 1e-3)
            h = layer_norm(fc(h, to_lc0_dense(sg["dense2"]), smol_a), sg["ln2"], 1e-3)
            w = np.asarray(P["smolgen_w"]["kernel"]).T  # [4096, gen]
            logits = logits + (h.reshape(B, H, -1) @ w.T).reshape(B, H, 64, 64)
        o = np.einsum("bhqk,bkhd->bqhd", softmax(logits), v).reshape(B, 64, D)
        o = fc(o, to_lc0_dense(L["out"]))
        x = layer_norm(o, L["ln1"], 1e-3, skip=x, alpha=alpha)
        f = fc(fc(x, to_lc0_dense(L["ffn_dense1"]), ffn_a), to_lc0_dense(L["ffn_dense2"]))
        x = layer_norm(f, L["ln2"], 1e-3, skip=x, alpha=alpha)
    R = variables["params"]
    out = {}
    # lc0: one policy embedding (policy_heads.ip_pol_w/b) feeds every head's own Q/K/promotion weights
    h = fc(x, to_lc0_dense(R["policy_embedding"]), a)
    out["policies"] = {}
    for name in cfg["policy_heads"]:
        pol = R[f"policy_{name}"]
        q = fc(h, to_lc0_dense(pol["wq"]))
        k = fc(h, to_lc0_dense(pol["wk"]))
        dm = q.shape[-1]
        qk = np.einsum("bqd,bkd->bqk", q, k) / np.sqrt(dm)
        w4 = np.asarray(pol["promotion"]).T  # lc0 ip4_pol_w [4][d]
        full = np.zeros((B, 4288))
        for b in range(B):
            offs = np.array([[k[b, 56 + j] @ w4[i] for j in range(8)] for i in range(4)])
            offs[:3] += offs[3]
            full[b, :4096] = qk[b].reshape(-1)
            for kk in range(8):
                for j in range(8):
                    for i in range(3):
                        full[b, 4096 + 24 * kk + 3 * j + i] = qk[b, 48 + kk, 56 + j] + offs[i, j]
        out["policies"][name] = full[:, ATTENTION_GATHER]
    out["policy"] = out["policies"]["vanilla"]
    vh = R["value_winner"]
    h = fc(x, to_lc0_dense(vh["embedding"]), a).reshape(B, -1)
    h = fc(h, to_lc0_dense(vh["dense1"]), a)
    out["wdl"] = softmax(fc(h, to_lc0_dense(vh["dense2"])))
    m = R["moves_left"]
    h = fc(x, to_lc0_dense(m["embedding"]), a).reshape(B, -1)
    h = fc(h, to_lc0_dense(m["dense1"]), a)
    out["moves_left"] = np.maximum(fc(h, to_lc0_dense(m["dense2"])), 0)[:, 0]
    return out
