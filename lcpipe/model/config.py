"""The ``model:`` settings: one declaration (name, type, default, bounds,
description), the rules between them, and normalisation for code that builds
a model outside a spec.

Pure Python (no jax) so that the stage declaration can build its JSON Schema
from the same declaration the model builder uses.
"""

from __future__ import annotations

from typing import Any

from lcpipe.settings import Problem, defaults, field, settings
from lcpipe.settings import normalize as normalize_settings

POLICY_HEADS = ("vanilla", "optimistic", "soft", "opponent", "next")
VALUE_HEADS = ("winner", "q", "st")
ACTIVATIONS = ("mish", "relu", "swish", "relu_2", "selu", "tanh", "sigmoid", "none")
WIDTH = 65536  # widths and counts of layers: far above any network lc0 runs


def _width(default: int, description: str, minimum: int = 1) -> Any:
    return field("integer", default, description, minimum=minimum, maximum=WIDTH)


MODEL_SETTINGS: dict[str, Any] = {
    "body": field(
        "string",
        "transformer",
        "Network body: 'transformer' (lc0 BT-style attention body) or 'resnet' (conv tower with SE).",
        enum=["transformer", "resnet"],
    ),
    "activation": field(
        "string",
        "mish",
        "Default activation (lc0 supports mish and relu for this one): body, SE, heads.",
        enum=["mish", "relu"],
    ),
    # residual body
    "filters": _width(64, "resnet: channels of the conv tower."),
    "blocks": field("integer", 6, "resnet: residual blocks.", minimum=1, maximum=1024),
    "se_ratio": field(
        "integer",
        4,
        "resnet: SE units with filters/se_ratio hidden units; 0 disables SE.",
        minimum=0,
        maximum=WIDTH,
    ),
    "bn_epsilon": field(
        "number",
        1e-5,
        "Batch norm epsilon (the exporter folds BN with the same value).",
        exclusive_minimum=0,
        maximum=1,
    ),
    "bn_momentum": field(
        "number", 0.99, "Momentum of the batch-norm running statistics.", minimum=0, maximum=1
    ),
    "batch_renorm": field("boolean", False, "Use batch renormalisation."),
    "renorm_rmax": field("number", 3.0, "Batch renorm: clip of r to [1/rmax, rmax].", minimum=1),
    "renorm_dmax": field("number", 5.0, "Batch renorm: clip of d to [-dmax, dmax].", minimum=0),
    "ghost_batch": field(
        "integer",
        0,
        "Ghost (virtual) batch size for batch-norm statistics; 0 = whole batch.",
        minimum=0,
        maximum=1_048_576,
    ),
    "policy_type": field(
        "string",
        "conv",
        "resnet policy head: 'conv' (80x8x8 gathered), 'classical' (1x1 conv + "
        "dense) or 'attention'. The transformer always uses 'attention'.",
        enum=["conv", "classical", "attention"],
    ),
    "policy_channels": _width(32, "Classical policy head: channels of its 1x1 conv."),
    # transformer body
    "d_model": _width(128, "transformer: embedding size (tokens' width)."),
    "embedding_dense": _width(
        64,
        "transformer: per-square width of the dense positional preprocessing (PE_DENSE) "
        "of the 12 piece planes.",
    ),
    "embedding_dff": _width(256, "transformer: hidden width of the embedding FFN."),
    "encoder_layers": field("integer", 4, "transformer: encoder blocks.", minimum=1, maximum=1024),
    "heads": field("integer", 4, "transformer: attention heads.", minimum=1, maximum=1024),
    "dff": _width(256, "transformer: FFN hidden width of each encoder block."),
    "ffn_activation": field(
        "string", "default", "transformer: FFN activation, or 'default'.", enum=["default", *ACTIVATIONS]
    ),
    "smolgen": field(
        "boolean", True, "transformer: smolgen attention biases (shared generator weight smolgen_w)."
    ),
    "smolgen_hidden_channels": _width(16, "smolgen: per-square compression width."),
    "smolgen_hidden_size": _width(64, "smolgen: width of its first dense layer."),
    "smolgen_gen_size": _width(64, "smolgen: generator input width per head."),
    "smolgen_activation": field(
        "string", "swish", "smolgen activation or 'default'.", enum=["default", *ACTIVATIONS]
    ),
    "dropout": field(
        "number",
        0.0,
        "Dropout rate (training only) on the residual branches: a transformer's attention and FFN "
        "outputs, a resnet block's output before the skip connection.",
        minimum=0,
        exclusive_maximum=1,
    ),
    "stochastic_depth": field(
        "number",
        0.0,
        "Stochastic depth (training only): each row skips the residual branches of block i "
        "(0-based) of n with probability stochastic_depth * (i + 1) / n, kept branches scaled by "
        "1 / (1 - that rate); at inference every block runs. Both bodies.",
        minimum=0,
        exclusive_maximum=1,
    ),
    "policy_embedding": _width(
        0, "Attention policy head: embedding width (0 = d_model, or filters on a resnet).", minimum=0
    ),
    "policy_d_model": _width(
        0, "Attention policy head: Q/K width (0 = the policy embedding width).", minimum=0
    ),
    # heads
    "policy_heads": field(
        "array",
        ["vanilla"],
        "Policy heads by name; 'vanilla' is required.",
        items=field("string", enum=POLICY_HEADS),
        unique=True,
    ),
    "value_heads": field(
        "array",
        ["winner"],
        "Value heads by name; 'winner' is required.",
        items=field("string", enum=VALUE_HEADS),
        unique=True,
    ),
    "value_error": field(
        "array",
        [],
        "Value heads with an error output (predicted squared q error, used by the optimistic policy).",
        items=field("string", enum=VALUE_HEADS),
        unique=True,
    ),
    "value_categorical": field(
        "integer",
        0,
        "Bins of a categorical q output on every value head; 0 disables.",
        minimum=0,
        maximum=4096,
    ),
    "value_channels": _width(32, "Value heads: per-square embedding / 1x1 conv width."),
    "value_hidden": _width(128, "Value heads: hidden dense width."),
    "moves_left": field("boolean", True, "Moves-left head."),
    "moves_left_channels": _width(8, "Moves-left head: per-square embedding / 1x1 conv width."),
    "moves_left_hidden": _width(128, "Moves-left head: hidden dense width."),
}
MODEL_SCHEMA = settings(MODEL_SETTINGS)


def check_model(cfg: dict):
    """Rules between model settings (paths relative to ``model:``)."""
    for key, required in (("policy_heads", "vanilla"), ("value_heads", "winner")):
        if required not in cfg[key]:
            yield Problem((key,), f"{key} must include {required!r}", f"add {required!r} to the list")
    missing = [h for h in cfg["value_error"] if h not in cfg["value_heads"]]
    if missing:
        yield Problem(
            ("value_error",),
            f"value_error names heads the model does not have: {missing}",
            f"value heads of this model: {cfg['value_heads']}",
        )
    if cfg["body"] == "transformer" and cfg["d_model"] % cfg["heads"]:
        yield Problem(
            ("d_model",),
            f"d_model ({cfg['d_model']}) is not a multiple of heads ({cfg['heads']})",
            "each attention head gets d_model / heads channels: make d_model divisible by heads",
        )


# How a network trains, not what it is: a checkpoint trained with other values fits a model
# that differs only in these (init_checkpoint, resume).
TRAINING_ONLY = ("dropout", "stochastic_depth")


def network_differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The settings (sorted) in which two normalised models are different networks."""
    keys = sorted((set(ours) | set(theirs)) - set(TRAINING_ONLY))
    return [k for k in keys if ours.get(k) != theirs.get(k)]


def model_defaults() -> dict[str, Any]:
    return defaults(MODEL_SETTINGS)


def canonical(cfg: dict[str, Any]) -> dict[str, Any]:
    """Head lists in their fixed order (parameter trees and exported files depend on it)."""
    out = dict(cfg)
    out["policy_heads"] = [h for h in POLICY_HEADS if h in cfg["policy_heads"]]
    out["value_heads"] = [h for h in VALUE_HEADS if h in cfg["value_heads"]]
    return out


def normalize(config: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check values; raises ValueError with a clear message."""
    return canonical(normalize_settings(MODEL_SCHEMA, config, (check_model,), "model"))
