"""The ``model:`` settings: defaults, descriptions and normalisation.

Pure Python (no jax) so that the stage declaration can build its JSON Schema
from the same table the model builder uses.
"""

from __future__ import annotations

import copy
from typing import Any

POLICY_HEADS = ("vanilla", "optimistic", "soft", "opponent", "next")
VALUE_HEADS = ("winner", "q", "st")

# key: (default, JSON type, description)
MODEL_SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "body": ("transformer", "string", "Network body: 'transformer' (lc0 BT-style attention body) or 'resnet' (conv tower with SE)."),
    "activation": ("mish", "string", "Default activation (lc0 supports mish and relu for this one): body, SE, heads."),
    # residual body
    "filters": (64, "integer", "resnet: channels of the conv tower."),
    "blocks": (6, "integer", "resnet: residual blocks."),
    "se_ratio": (4, "integer", "resnet: SE units with filters/se_ratio hidden units; 0 disables SE."),
    "bn_epsilon": (1e-5, "number", "Batch norm epsilon (the exporter folds BN with the same value)."),
    "bn_momentum": (0.99, "number", "Momentum of the batch-norm running statistics."),
    "batch_renorm": (False, "boolean", "Use batch renormalisation."),
    "renorm_rmax": (3.0, "number", "Batch renorm: clip of r to [1/rmax, rmax]."),
    "renorm_dmax": (5.0, "number", "Batch renorm: clip of d to [-dmax, dmax]."),
    "ghost_batch": (0, "integer", "Ghost (virtual) batch size for batch-norm statistics; 0 = whole batch."),
    "policy_type": ("conv", "string", "resnet policy head: 'conv' (80x8x8 gathered), 'classical' (1x1 conv + dense) or 'attention'. The transformer always uses 'attention'."),
    "policy_channels": (32, "integer", "Classical policy head: channels of its 1x1 conv."),
    # transformer body
    "d_model": (128, "integer", "transformer: embedding size (tokens' width)."),
    "embedding_dense": (64, "integer", "transformer: per-square width of the dense positional preprocessing (PE_DENSE) of the 12 piece planes."),
    "embedding_dff": (256, "integer", "transformer: hidden width of the embedding FFN."),
    "encoder_layers": (4, "integer", "transformer: encoder blocks."),
    "heads": (4, "integer", "transformer: attention heads."),
    "dff": (256, "integer", "transformer: FFN hidden width of each encoder block."),
    "ffn_activation": ("default", "string", "transformer: FFN activation (mish, relu, swish, relu_2, selu, tanh, sigmoid, none) or 'default'."),
    "smolgen": (True, "boolean", "transformer: smolgen attention biases (shared generator weight smolgen_w)."),
    "smolgen_hidden_channels": (16, "integer", "smolgen: per-square compression width."),
    "smolgen_hidden_size": (64, "integer", "smolgen: width of its first dense layer."),
    "smolgen_gen_size": (64, "integer", "smolgen: generator input width per head."),
    "smolgen_activation": ("swish", "string", "smolgen activation or 'default'."),
    "dropout": (0.0, "number", "transformer: dropout rate on attention and FFN outputs (training only)."),
    "policy_embedding": (0, "integer", "Attention policy head: embedding width (0 = d_model, or filters on a resnet)."),
    "policy_d_model": (0, "integer", "Attention policy head: Q/K width (0 = the policy embedding width)."),
    # heads
    "policy_heads": (["vanilla"], "array", f"Policy heads by name, from {list(POLICY_HEADS)}; 'vanilla' is required."),
    "value_heads": (["winner"], "array", f"Value heads by name, from {list(VALUE_HEADS)}; 'winner' is required."),
    "value_error": ([], "array", "Value heads with an error output (predicted squared q error, used by the optimistic policy)."),
    "value_categorical": (0, "integer", "Bins of a categorical q output on every value head; 0 disables."),
    "value_channels": (32, "integer", "Value heads: per-square embedding / 1x1 conv width."),
    "value_hidden": (128, "integer", "Value heads: hidden dense width."),
    "moves_left": (True, "boolean", "Moves-left head."),
    "moves_left_channels": (8, "integer", "Moves-left head: per-square embedding / 1x1 conv width."),
    "moves_left_hidden": (128, "integer", "Moves-left head: hidden dense width."),
}


def model_defaults() -> dict[str, Any]:
    return {k: copy.deepcopy(v[0]) for k, v in MODEL_SETTINGS.items()}


def normalize(config: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check values; raises ValueError with a clear message."""
    cfg = model_defaults()
    unknown = set(config or {}) - set(cfg)
    if unknown:
        raise ValueError(f"unknown model settings: {sorted(unknown)}")
    cfg.update(copy.deepcopy(config or {}))
    if cfg["body"] not in ("transformer", "resnet"):
        raise ValueError(f"model.body must be 'transformer' or 'resnet', not {cfg['body']!r}")
    for key, allowed, required in (("policy_heads", POLICY_HEADS, "vanilla"), ("value_heads", VALUE_HEADS, "winner")):
        heads = list(cfg[key])
        bad = [h for h in heads if h not in allowed]
        if bad or required not in heads or len(set(heads)) != len(heads):
            raise ValueError(f"model.{key} must be distinct names from {list(allowed)} including {required!r}; got {heads}")
        cfg[key] = [h for h in allowed if h in heads]  # canonical order
    bad = [h for h in cfg["value_error"] if h not in cfg["value_heads"]]
    if bad:
        raise ValueError(f"model.value_error names heads that do not exist: {bad}")
    if cfg["policy_type"] not in ("conv", "classical", "attention"):
        raise ValueError(f"model.policy_type must be conv, classical or attention, not {cfg['policy_type']!r}")
    if cfg["body"] == "transformer":
        if cfg["d_model"] % cfg["heads"]:
            raise ValueError("model.d_model must be a multiple of model.heads")
        if cfg["embedding_dense"] < 1:
            raise ValueError("model.embedding_dense must be >= 1 (the BT body uses the dense positional embedding)")
    return cfg
