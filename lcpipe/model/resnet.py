"""lc0's residual tower with squeeze-and-excitation, NHWC internally.

Input [B,112,8,8] (NCHW, lc0 planes) is transposed to [B,8,8,112]:
height = rank, width = file, so square = rank*8 + file as in lc0.
Block: conv1+BN+act, conv2+BN, SE, + skip, act. SE (engine's ApplySEUnit):
avg pool -> dense1 (+act, the default activation) -> dense2 to 2C ->
gamma, beta; out = sigmoid(gamma)*x + beta. In training the block's branch
(after SE) passes dropout and stochastic depth before the skip is added.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from lcpipe.model.layers import F32, ConvBN, activation, dense
from lcpipe.model.stochastic_depth import DropPath, block_drop_rate, scale_rows


class SEUnit(nn.Module):
    channels: int
    hidden: int
    act: str
    dtype: Any = F32

    @nn.compact
    def __call__(self, x):
        pooled = x.astype(F32).mean(axis=(1, 2)).astype(x.dtype)
        h = activation(self.act)(dense(self.hidden, "dense1", self.dtype)(pooled))
        gb = dense(2 * self.channels, "dense2", self.dtype)(h)
        gamma, beta = gb[:, : self.channels], gb[:, self.channels :]
        return nn.sigmoid(gamma)[:, None, None, :] * x + beta[:, None, None, :]


class ResidualBlock(nn.Module):
    filters: int
    se_hidden: int
    act: str
    bn: dict
    dtype: Any = F32
    dropout: float = 0.0
    drop_path: float = 0.0  # this block's stochastic-depth rate

    @nn.compact
    def __call__(self, x, train: bool):
        h = ConvBN(self.filters, 3, self.act, self.bn, self.dtype, name="conv1")(x, train)
        h = ConvBN(self.filters, 3, self.act, self.bn, self.dtype, activate=False, name="conv2")(h, train)
        if self.se_hidden:
            h = SEUnit(self.filters, self.se_hidden, self.act, self.dtype, name="se")(h)
        h = nn.Dropout(self.dropout)(h, deterministic=not train)
        h = scale_rows(h, DropPath(self.drop_path, name="drop_path")(h.shape[0], train))
        return activation(self.act)(h + x)


class ResNetBody(nn.Module):
    filters: int
    blocks: int
    se_ratio: int
    act: str
    bn: dict
    dtype: Any = F32
    dropout: float = 0.0
    stochastic_depth: float = 0.0

    @nn.compact
    def __call__(self, planes, train: bool):
        x = jnp.transpose(planes, (0, 2, 3, 1)).astype(self.dtype)
        x = ConvBN(self.filters, 3, self.act, self.bn, self.dtype, name="input")(x, train)
        se_hidden = self.filters // self.se_ratio if self.se_ratio else 0
        for i in range(self.blocks):
            x = ResidualBlock(
                self.filters,
                se_hidden,
                self.act,
                self.bn,
                self.dtype,
                dropout=self.dropout,
                drop_path=block_drop_rate(self.stochastic_depth, i, self.blocks),
                name=f"block_{i}",
            )(x, train)
        return x
