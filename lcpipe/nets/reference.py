"""lc0's forward pass of a classic (residual, optionally SE) network, in numpy.

This is the engine's computation written out plainly, used as the ground
truth the flax import is checked against and to evaluate a file directly:

- conv blocks: lc0 folds batch norm as ``gamma / sqrt(var + 1e-5)`` times
  ``(conv + bias - mean)`` plus ``beta``; missing gamma = 1, beta = 0, bias
  = 0; a block with weights and biases only has no batch norm. (lc0 before
  the fold rewrite used |gamma|; all gammas of the Maia nets are positive.)
- residual block: conv1, bn, act, conv2, bn, [SE], + skip, act.
- SE: mean over squares, fc1, act, fc2, split into (gamma, beta),
  ``sigmoid(gamma) * x + beta``.
- heads: value conv 1x1, bn, act, flatten channel-major, fc1, act, fc2,
  softmax over (W, D, L) for WDL or tanh for classical; moves-left likewise
  with a relu on the output; policy either classical (conv 1x1 + fc to 1858)
  or convolutional (conv 3x3 + conv 3x3 to 80 planes, gathered to 1858).
- inputs are planes as the engine feeds them: plane 109 holds the raw
  rule50 count for input formats 1-3 and rule50/100 for formats >= 4.
"""

from __future__ import annotations

import numpy as np

from lcpipe.nets.lc0net import Layer, Lc0Net

BN_EPSILON = 1e-5


def _v(layer: Layer | None) -> np.ndarray | None:
    return None if layer is None else layer.values


def fold_conv_block(block: dict, out_channels: int, kernel: int) -> tuple[np.ndarray, np.ndarray]:
    """(weights [O, I, k, k], bias [O]) of a ConvBlock with its batch norm folded in."""
    w = _v(block.get("weights"))
    if w is None:
        raise ValueError("conv block without weights")
    bias = _v(block.get("biases"))
    means = _v(block.get("bn_means"))
    o = out_channels
    w = w.reshape(o, -1, kernel, kernel)
    b = np.zeros(o, np.float32) if bias is None else bias[:o].astype(np.float32)
    if means is None:
        return w.astype(np.float32), b
    var = _v(block.get("bn_stddivs"))
    if var is None:
        raise ValueError("batch norm with means but no variances")
    gammas = _v(block.get("bn_gammas"))
    betas = _v(block.get("bn_betas"))
    gammas = np.ones(o, np.float32) if gammas is None or gammas.size == 0 else gammas
    betas = np.zeros(o, np.float32) if betas is None or betas.size == 0 else betas
    scale = (gammas / np.sqrt(var + np.float32(BN_EPSILON))).astype(np.float32)
    w_f = w * scale[:, None, None, None]
    b_f = (b - means) * scale + betas
    return w_f.astype(np.float32), b_f.astype(np.float32)


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Same-padded 2-D cross-correlation of x [B, I, 8, 8] with w [O, I, k, k]."""
    bsz, cin, h, wd = x.shape
    o, i, k, _ = w.shape
    if i != cin:
        raise ValueError(f"conv expects {i} input channels, got {cin}")
    if k == 1:
        y = np.einsum("oi,bis->bos", w[:, :, 0, 0], x.reshape(bsz, cin, h * wd), optimize=True)
        return (y + b[None, :, None]).reshape(bsz, o, h, wd)
    p = k // 2
    # im2col with squares as rows: one large GEMM instead of B small ones.
    xs = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # [B, 8, 8, I]
    xp = np.pad(xs, ((0, 0), (p, p), (p, p), (0, 0)))
    cols = np.empty((bsz, h, wd, k, k, cin), np.float32)
    for dy in range(k):
        for dx in range(k):
            cols[:, :, :, dy, dx, :] = xp[:, dy : dy + h, dx : dx + wd, :]
    wm = w.transpose(2, 3, 1, 0).reshape(k * k * cin, o)  # rows ordered (dy, dx, i)
    y = cols.reshape(bsz * h * wd, k * k * cin) @ wm + b
    return np.ascontiguousarray(y.reshape(bsz, h, wd, o).transpose(0, 3, 1, 2))


def activation(name: str):
    if name == "relu":
        return lambda x: np.maximum(x, 0)
    if name == "mish":
        return lambda x: x * np.tanh(np.logaddexp(0, x))
    if name == "none":
        return lambda x: x
    raise ValueError(f"activation {name!r} not supported by the reference forward")


def dense(x: np.ndarray, w: Layer, b: Layer | None) -> np.ndarray:
    bv = _v(b)
    out = bv.size if bv is not None else None
    wm = w.values.reshape(out, -1) if out else w.values.reshape(-1, x.shape[-1])
    y = x @ wm.T
    return y + bv if bv is not None else y


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward_classic(
    net: Lc0Net, planes: np.ndarray, conv_policy_map: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Evaluate a classic residual network on engine planes f32 [B, 112, 8, 8].

    Returns ``wdl`` [B,3] (or ``q`` only for classical value heads), ``q``,
    ``d``, ``policy`` [B,1858] logits when the policy head can be computed
    (``conv_policy_map`` int [1858] into the 80x64 planes for conv policy),
    ``m`` for moves-left heads.
    """
    nf = net.network_format
    if nf.get("network") not in (3, 4):
        raise ValueError("forward_classic handles residual (classical/SE) networks only")
    act = activation("mish" if nf.get("default_activation", 0) == 1 else "relu")
    w = net.weights
    x = planes.astype(np.float32)
    filters = w["input"]["weights"].size // (112 * 9)
    x = act(conv(x, *fold_conv_block(w["input"], filters, 3)))
    for block in w.get("residual", []):
        skip = x
        y = act(conv(x, *fold_conv_block(block["conv1"], filters, 3)))
        y = conv(y, *fold_conv_block(block["conv2"], filters, 3))
        if "se" in block:
            se = block["se"]
            pooled = y.mean(axis=(2, 3))
            h = act(dense(pooled, se["w1"], se["b1"]))
            gb = dense(h, se["w2"], se["b2"])
            gamma, beta = gb[:, :filters], gb[:, filters:]
            y = (1.0 / (1.0 + np.exp(-gamma)))[:, :, None, None] * y + beta[:, :, None, None]
        x = act(y + skip)
    out: dict[str, np.ndarray] = {}
    bsz = x.shape[0]
    # value head
    vconv = w["value"]
    vch = vconv["bn_means"].values.size if "bn_means" in vconv else vconv["biases"].values.size
    v = act(conv(x, *fold_conv_block(vconv, vch, 1))).reshape(bsz, -1)
    v = act(dense(v, w["ip1_val_w"], w["ip1_val_b"]))
    v = dense(v, w["ip2_val_w"], w["ip2_val_b"])
    if nf.get("value") == 2:
        wdl = softmax(v)
        out["wdl"] = wdl
        out["q"] = wdl[:, 0] - wdl[:, 2]
        out["d"] = wdl[:, 1]
    else:
        out["q"] = np.tanh(v[:, 0])
    # moves-left head
    if nf.get("moves_left", 0) == 1 and "moves_left" in w:
        mconv = w["moves_left"]
        mch = mconv["bn_means"].values.size if "bn_means" in mconv else mconv["biases"].values.size
        m = act(conv(x, *fold_conv_block(mconv, mch, 1))).reshape(bsz, -1)
        m = act(dense(m, w["ip1_mov_w"], w["ip1_mov_b"]))
        out["m"] = np.maximum(dense(m, w["ip2_mov_w"], w["ip2_mov_b"]), 0)[:, 0]
    # policy head
    if nf.get("policy") == 2:
        p = act(conv(x, *fold_conv_block(w["policy1"], filters, 3)))
        pch = (
            w["policy"]["biases"].values.size
            if "biases" in w["policy"]
            else w["policy"]["bn_means"].values.size
        )
        p = conv(p, *fold_conv_block(w["policy"], pch, 3)).reshape(bsz, -1)
        if conv_policy_map is not None:
            out["policy"] = p[:, conv_policy_map]
        out["policy_planes"] = p
    elif nf.get("policy") == 1:
        pconv = w["policy"]
        pch = pconv["bn_means"].values.size if "bn_means" in pconv else pconv["biases"].values.size
        p = act(conv(x, *fold_conv_block(pconv, pch, 1))).reshape(bsz, -1)
        out["policy"] = dense(p, w["ip_pol_w"], w["ip_pol_b"])
    return out
