"""Model construction from the ``model:`` settings (see docs/parameters.md).

``build_model(cfg, dtype)`` returns a flax module whose ``apply`` maps
planes f32[B,112,8,8] to a dict of outputs:
  policy: {head name: logits f32[B,1858]}
  value:  {head name: {"wdl": logits f32[B,3], ["error": f32[B]], ["cat": f32[B,bins]]}}
  moves_left: f32[B] (plies, when enabled)
Parameters are f32 ("master weights"); ``dtype`` is the compute dtype.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from lcpipe.model.config import model_defaults, normalize
from lcpipe.model.heads import (
    AttentionPolicyHead,
    ClassicalPolicyHead,
    ConvPolicyHead,
    MovesLeftHead,
    ValueHead,
    attention_policy_embedding,
)
from lcpipe.model.resnet import ResNetBody
from lcpipe.model.transformer import TransformerBody

DTYPES = {
    "float32": jnp.float32,
    "f32": jnp.float32,
    "bfloat16": jnp.bfloat16,
    "bf16": jnp.bfloat16,
    "float16": jnp.float16,
    "f16": jnp.float16,
}

__all__ = ["LC0Net", "build_model", "model_defaults", "normalize", "DTYPES"]


class LC0Net(nn.Module):
    cfg: dict
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, planes, train: bool = False):
        c = self.cfg
        act = c["activation"]
        bn = dict(
            epsilon=c["bn_epsilon"],
            momentum=c["bn_momentum"],
            renorm=c["batch_renorm"],
            rmax=c["renorm_rmax"],
            dmax=c["renorm_dmax"],
            ghost=c["ghost_batch"],
        )
        if c["body"] == "resnet":
            x = ResNetBody(
                c["filters"],
                c["blocks"],
                c["se_ratio"],
                act,
                bn,
                self.dtype,
                dropout=c["dropout"],
                stochastic_depth=c["stochastic_depth"],
                name="body",
            )(planes, train)
            width = c["filters"]
            ptype = c["policy_type"]
        else:
            x = TransformerBody(c, self.dtype, name="body")(planes, train)
            width = c["d_model"]
            ptype = "attention"
        out: dict[str, Any] = {"policy": {}, "value": {}}
        if ptype == "attention":  # one embedding for all policy heads, as lc0's format and engine have it
            emb = c["policy_embedding"] or width
            pol_x = attention_policy_embedding(x, emb, act, self.dtype)
        else:
            pol_x = x
        for name in c["policy_heads"]:
            head: nn.Module
            if ptype == "attention":
                head = AttentionPolicyHead(c["policy_d_model"] or emb, self.dtype, name=f"policy_{name}")
            elif ptype == "conv":
                head = ConvPolicyHead(c["filters"], act, bn, self.dtype, name=f"policy_{name}")
            else:
                head = ClassicalPolicyHead(c["policy_channels"], act, bn, self.dtype, name=f"policy_{name}")
            out["policy"][name] = head(pol_x, train)
        for name in c["value_heads"]:
            out["value"][name] = ValueHead(
                c["value_channels"],
                c["value_hidden"],
                act,
                bn,
                name in c["value_error"],
                c["value_categorical"],
                self.dtype,
                name=f"value_{name}",
            )(x, train)
        if c["moves_left"]:
            out["moves_left"] = MovesLeftHead(
                c["moves_left_channels"], c["moves_left_hidden"], act, bn, self.dtype, name="moves_left"
            )(x, train)
        return out


def build_model(config: dict | None, dtype: str | Any = "float32") -> LC0Net:
    cfg = normalize(config)
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"unknown precision {dtype!r}; choose float32, bfloat16 or float16")
        dtype = DTYPES[dtype]
    return LC0Net(cfg, dtype)
