"""Output heads. Each works on a conv body (NHWC [B,8,8,C]) or on an
attention body ([B,64,C], square-major), exactly as the lc0 engine runs them.

Policy heads return logits over the 1858 moves; value heads a dict with
``wdl`` logits [B,3] (+ ``error`` in [0,1] and ``cat`` logits when enabled);
the moves-left head plies left [B] (relu).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from lcpipe.model.layers import F32, ConvBN, activation, dense, glorot, nchw_flatten
from lcpipe.model.policy_maps import attention_gather, conv_gather


def _embed(x, channels: int, act: str, bn: dict, dtype: Any, train: bool, name: str):
    """Per-square projection: 1x1 conv+BN on a conv body, dense on tokens; then flatten as lc0 does."""
    if x.ndim == 4:
        h = ConvBN(channels, 1, act, bn, dtype, name=name)(x, train)
        return nchw_flatten(h)
    h = activation(act)(dense(channels, name, dtype)(x))
    return h.reshape(h.shape[0], -1)


class ValueHead(nn.Module):
    channels: int
    hidden: int
    act: str
    bn: dict
    error: bool = False
    categorical: int = 0
    dtype: Any = F32

    @nn.compact
    def __call__(self, x, train: bool):
        flat = _embed(x, self.channels, self.act, self.bn, self.dtype, train, "embedding")
        h = activation(self.act)(dense(self.hidden, "dense1", self.dtype)(flat))
        out = {"wdl": dense(3, "dense2", self.dtype)(h).astype(F32)}
        if self.error:
            out["error"] = nn.sigmoid(dense(1, "error", self.dtype)(h).astype(F32))[:, 0]
        if self.categorical:
            out["cat"] = dense(self.categorical, "categorical", self.dtype)(h).astype(F32)
        return out


class MovesLeftHead(nn.Module):
    channels: int
    hidden: int
    act: str
    bn: dict
    dtype: Any = F32

    @nn.compact
    def __call__(self, x, train: bool):
        flat = _embed(x, self.channels, self.act, self.bn, self.dtype, train, "embedding")
        h = activation(self.act)(dense(self.hidden, "dense1", self.dtype)(flat))
        return nn.relu(dense(1, "dense2", self.dtype)(h).astype(F32))[:, 0]


class ConvPolicyHead(nn.Module):
    """3x3 conv+BN+act (filters), 3x3 conv to 80 planes with bias, gather 5120 -> 1858."""

    filters: int
    act: str
    bn: dict
    dtype: Any = F32

    @nn.compact
    def __call__(self, x, train: bool):
        h = ConvBN(self.filters, 3, self.act, self.bn, self.dtype, name="conv1")(x, train)
        h = nn.Conv(
            80, (3, 3), padding="SAME", dtype=self.dtype, param_dtype=F32, kernel_init=glorot(), name="conv2"
        )(h)
        flat = nchw_flatten(h).astype(F32)
        return jnp.take(flat, jnp.asarray(conv_gather()), axis=1)


class ClassicalPolicyHead(nn.Module):
    """1x1 conv+BN+act to `channels` planes, flatten (c*64+sq), dense to 1858."""

    channels: int
    act: str
    bn: dict
    dtype: Any = F32

    @nn.compact
    def __call__(self, x, train: bool):
        h = ConvBN(self.channels, 1, self.act, self.bn, self.dtype, name="conv")(x, train)
        return dense(1858, "dense", self.dtype)(nchw_flatten(h)).astype(F32)


def attention_policy_embedding(x, features: int, act: str, dtype: Any = F32):
    """lc0's policy embedding (``policy_heads.ip_pol_w/b``): one dense layer on
    the body's tokens, computed once and shared by every attention policy head.
    Call it inside a compact module: its parameters are ``policy_embedding``.

    On a conv body (NHWC, square = rank*8+file) the tokens are the squares'
    channels and the activation is selu, as the engine hard-codes for it.
    """
    if x.ndim == 4:
        x = x.reshape(x.shape[0], 64, x.shape[-1])
        act = "selu"
    return activation(act)(dense(features, "policy_embedding", dtype)(x))


class AttentionPolicyHead(nn.Module):
    """One of lc0's attention policy heads on the shared policy embedding
    (``attention_policy_embedding``): Q/K projections, from-to logits
    Q K^T / sqrt(d), promotion offsets from the rank-8 keys, gather 4288 -> 1858.
    """

    d_model: int
    dtype: Any = F32

    @nn.compact
    def __call__(self, h, train: bool):
        q = dense(self.d_model, "wq", self.dtype)(h).astype(F32)
        k = dense(self.d_model, "wk", self.dtype)(h).astype(F32)
        logits = jnp.einsum("bqd,bkd->bqk", q, k) / np.sqrt(self.d_model)
        w4 = self.param("promotion", glorot(), (self.d_model, 4), F32)
        offs = jnp.einsum("btd,dp->bpt", k[:, 56:64, :], w4)  # [B,4,8 to-files]
        offs = offs[:, :3, :] + offs[:, 3:4, :]  # q, r, b each plus the knight offset
        base = logits[:, 48:56, 56:64]  # [B, from-file, to-file]
        promo = base[:, :, :, None] + jnp.transpose(offs, (0, 2, 1))[:, None, :, :]  # [B,8,8,3]
        full = jnp.concatenate([logits.reshape(-1, 4096), promo.reshape(-1, 192)], axis=1)
        return jnp.take(full, jnp.asarray(attention_gather()), axis=1)
