"""Training losses and their metrics.

Targets come from a Batch (LC0_FORMATS.md section 5): probabilities with -1
on illegal moves (masked out of the softmax), values [B,6,3] rows result,
best, played, orig, root, st; columns q, d, m. A WDL target is
W=(1+q-d)/2, D=d, L=(1-q-d)/2.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lcpipe.train.rules import tree_of
from lcpipe.train.settings import ROWS

NEG = -1e30


def wdl_from(qd):
    q, d = qd[..., 0], qd[..., 1]
    return jnp.stack([(1 + q - d) / 2, d, (1 - q - d) / 2], axis=-1)


def policy_target(probs, temperature, smoothing: float):
    """Renormalised target over legal moves, with temperature and smoothing (the temperature a number
    or a traced scalar, e.g. annealed over the steps)."""
    legal = probs >= 0
    p = jnp.where(legal, jnp.maximum(probs, 0.0), 0.0)
    if not isinstance(temperature, (int, float)) or temperature != 1.0:
        p = jnp.where(p > 0, jnp.power(jnp.maximum(p, 1e-30), 1.0 / temperature), 0.0)
    total = p.sum(-1, keepdims=True)
    p = p / jnp.maximum(total, 1e-30)
    if smoothing:
        n = jnp.maximum(legal.sum(-1, keepdims=True), 1)
        p = (1 - smoothing) * p + smoothing * legal / n
    return p, legal, total[:, 0] > 0


def masked_log_softmax(logits, legal):
    return jax.nn.log_softmax(jnp.where(legal, logits, NEG), axis=-1)


def xent(target, logp):
    return -jnp.sum(jnp.where(target > 0, target * logp, 0.0), axis=-1)


def entropy(p):
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.maximum(p, 1e-30)), 0.0), axis=-1)


def wmean(x, w):
    return jnp.sum(x * w) / jnp.maximum(jnp.sum(w), 1e-9)


def huber(x, delta):
    a = jnp.abs(x)
    return jnp.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta))


CALIBRATION_BINS = 10


def calibration_bins(probs, target, weight, bins: int = CALIBRATION_BINS):
    """Per bin of the predicted expected score (W + D/2): [weight, predicted sum, real sum],
    f32[3, bins]. Sums over batches add, so a whole pass gets one calibration error."""
    pred = probs[:, 0] + 0.5 * probs[:, 1]
    real = target[:, 0] + 0.5 * target[:, 1]
    idx = jnp.clip((pred * bins).astype(jnp.int32), 0, bins - 1)
    onehot = jax.nn.one_hot(idx, bins) * weight[:, None]  # rows without a target count nowhere
    return jnp.stack([onehot.sum(0), onehot.T @ pred, onehot.T @ real])


def calibration_error(binned):
    """Expected calibration error from ``calibration_bins`` (summed over any number of batches)."""
    count, pred, real = binned[0], binned[1], binned[2]
    return jnp.sum(jnp.abs(pred - real)) / jnp.maximum(jnp.sum(count), 1e-9)


def value_target(values, head: str, cfg: dict):
    row = ROWS[cfg["value_targets"][head]]
    t = wdl_from(values[:, row, :2])
    if head == "winner" and cfg["q_ratio"]:
        t = (1 - cfg["q_ratio"]) * t + cfg["q_ratio"] * wdl_from(values[:, ROWS["root"], :2])
    valid = jnp.all(jnp.isfinite(t), axis=-1)
    return jnp.where(valid[:, None], t, 0.0), valid


def l2_penalty(params, cfg: dict):
    coeffs = tree_of(params, cfg["l2_rules"], "l2", None, first_match=True)
    terms = jax.tree.map(
        lambda p, c: (cfg["l2"] if c is None else c) * jnp.sum(jnp.square(p.astype(jnp.float32))),
        params,
        coeffs,
    )
    return sum(jax.tree.leaves(terms), jnp.float32(0.0))


def compute_losses(
    outputs: dict,
    batch: dict,
    cfg: dict,
    sample_weight=None,
    with_bins: bool = False,
    policy_temperature=None,
):
    """Total loss (without L2) and a dict of scalar metrics; ``with_bins`` adds each value head's
    calibration bins (``value_<head>_calibration_bins``) for an evaluation over many batches;
    ``policy_temperature`` (e.g. the annealed one of this step) replaces cfg's constant."""
    if policy_temperature is None:
        policy_temperature = cfg["policy_temperature"]
    probs = batch["probabilities"]
    b = probs.shape[0]
    sw = jnp.ones((b,), jnp.float32) if sample_weight is None else sample_weight.astype(jnp.float32)
    m: dict[str, Any] = {}
    total = jnp.float32(0.0)

    # Value heads first: the optimistic policy needs a predicted error.
    qpred = {}
    for head, out in outputs["value"].items():
        t, valid = value_target(batch["values"], head, cfg)
        w = sw * valid
        logp = jax.nn.log_softmax(out["wdl"], axis=-1)
        loss = wmean(xent(t, logp), w)
        m[f"value_{head}_loss"] = loss
        total = total + cfg["value_weights"][head] * loss
        p = jnp.exp(logp)
        q = p[:, 0] - p[:, 2]
        qt = t[:, 0] - t[:, 2]
        qpred[head] = (q, qt, w)
        m[f"value_{head}_accuracy"] = wmean((jnp.argmax(p, -1) == jnp.argmax(t, -1)).astype(jnp.float32), w)
        m[f"value_{head}_mse"] = wmean(jnp.square(q - qt) / 4, w)
        binned = calibration_bins(p, t, w)
        m[f"value_{head}_calibration"] = calibration_error(binned)
        if with_bins:
            m[f"value_{head}_calibration_bins"] = binned
        if "error" in out:
            err_t = jax.lax.stop_gradient(jnp.square(q - qt) / 4)
            loss = wmean(jnp.square(out["error"] - err_t), w)
            m[f"value_{head}_error_loss"] = loss
            total = total + cfg["value_error_weight"] * loss
        if "cat" in out:
            bins = out["cat"].shape[-1]
            idx = jnp.clip(((qt + 1) / 2 * bins).astype(jnp.int32), 0, bins - 1)
            loss = wmean(-jnp.take_along_axis(jax.nn.log_softmax(out["cat"]), idx[:, None], 1)[:, 0], w)
            m[f"value_{head}_cat_loss"] = loss
            total = total + cfg["categorical_weight"] * loss

    opt_head = cfg["optimistic_value_head"] or next(
        (h for h, o in outputs["value"].items() if "error" in o), ""
    )
    for head, logits in outputs["policy"].items():
        weight = cfg["policy_weights"][head]
        if head in ("opponent", "next"):
            idx = batch[f"{head}_idx"]
            valid = idx >= 0
            logp = jax.nn.log_softmax(logits, axis=-1)
            ce = -jnp.take_along_axis(logp, jnp.maximum(idx, 0)[:, None], 1)[:, 0]
            w = sw * valid
            loss = wmean(ce, w)
            m[f"policy_{head}_loss"] = loss
            m[f"policy_{head}_accuracy"] = wmean((jnp.argmax(logits, -1) == idx).astype(jnp.float32), w)
            total = total + weight * loss
            continue
        temp = cfg["soft_temperature"] if head == "soft" else policy_temperature
        t, legal, valid = policy_target(probs, temp, cfg["label_smoothing"])
        logp = masked_log_softmax(logits, legal)
        ce = xent(t, logp)
        if cfg["policy_loss"] == "kl":
            ce = ce - entropy(t)
        w = sw * valid
        if head == "optimistic":
            if opt_head not in outputs["value"] or "error" not in outputs["value"][opt_head]:
                raise ValueError(
                    "the optimistic policy head needs a value head with an error output (model.value_error)"
                )
            q, qt, _ = qpred[opt_head]
            sigma = 2 * jnp.sqrt(outputs["value"][opt_head]["error"] + 1e-6)
            z = (qt - q) / sigma
            w = w * jax.lax.stop_gradient(
                jax.nn.sigmoid(cfg["optimistic_strength"] * (z - cfg["optimistic_threshold"]))
            )
        loss = wmean(ce, w)
        m[f"policy_{head}_loss"] = loss
        total = total + weight * loss
        if head == "vanilla":
            p = jnp.exp(logp)
            m["policy_accuracy"] = wmean((jnp.argmax(logp, -1) == jnp.argmax(t, -1)).astype(jnp.float32), w)
            m["policy_entropy"] = wmean(entropy(p), w)
            m["policy_kld"] = wmean(xent(t, logp) - entropy(t), w)

    if "moves_left" in outputs:
        target = batch["values"][:, 0, 2]
        valid = jnp.isfinite(target)
        s = cfg["moves_left_scale"]
        err = (outputs["moves_left"] - jnp.where(valid, target, 0.0)) / s
        loss = wmean(huber(err, cfg["moves_left_delta"] / s), sw * valid)
        m["moves_left_loss"] = loss
        total = total + cfg["moves_left_weight"] * loss
    return total, m
