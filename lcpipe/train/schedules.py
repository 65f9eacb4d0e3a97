"""Learning-rate schedules: a pure function of the step (exact on resume).

lr(step) = warmup(step) * base(step), where base is, by priority:
- ``segments``: consecutive pieces [{steps, type: constant|linear|cosine,
  lr, end_lr}], the last piece's end value held afterwards;
- ``boundaries``/``values``: step schedule, values[i] for
  boundaries[i-1] <= step < boundaries[i] (len(values) = len(boundaries)+1);
- ``restart_period`` > 0: cosine warm restarts (SGDR) from ``lr`` down to
  ``min_lr``, period multiplied by ``restart_mult`` after each restart;
- otherwise the constant ``lr``.
warmup: linear from 0 to 1 over ``warmup_steps`` (step 0 gets 1/warmup).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from lcpipe.train.settings import normalize_schedule


def _segment_value(seg: dict, t):
    lr = float(seg["lr"])
    end = lr if seg["end_lr"] is None else float(seg["end_lr"])
    frac = jnp.clip(t / float(seg["steps"]), 0.0, 1.0)
    kind = seg["type"]
    if kind == "constant":
        return jnp.full_like(frac, lr)
    if kind == "linear":
        return lr + (end - lr) * frac
    return end + (lr - end) * 0.5 * (1 + jnp.cos(jnp.pi * frac))


def make_schedule(cfg: dict):
    """Returns lr(step) usable inside jit (step an int or traced array)."""
    cfg = normalize_schedule(cfg)

    def base(step):
        s = jnp.asarray(step, jnp.float32)
        if cfg["segments"]:
            out = jnp.float32(0.0)
            start = 0
            segs = cfg["segments"]
            for i, seg in enumerate(segs):
                n = int(seg["steps"])
                inside = (s >= start) & ((s < start + n) | (i == len(segs) - 1))
                val = _segment_value(seg, s - start)
                if i == len(segs) - 1:  # hold the end value afterwards
                    val = jnp.where(s >= start + n, _segment_value(seg, jnp.float32(n)), val)
                out = jnp.where(inside, val, out)
                start += n
            return out
        if cfg["boundaries"]:
            idx = jnp.sum(s >= jnp.asarray(cfg["boundaries"], jnp.float32)).astype(jnp.int32)
            return jnp.asarray(cfg["values"], jnp.float32)[idx]
        if cfg["restart_period"] > 0:
            p0, mult = float(cfg["restart_period"]), float(cfg["restart_mult"])
            if mult == 1.0:
                k = jnp.floor(s / p0)
                t, period = s - k * p0, p0
            else:  # closed form for geometric periods
                k = jnp.floor(jnp.log1p(s * (mult - 1) / p0) / math.log(mult))
                startk = p0 * (mult**k - 1) / (mult - 1)
                t, period = s - startk, p0 * mult**k
            return cfg["min_lr"] + (cfg["lr"] - cfg["min_lr"]) * 0.5 * (1 + jnp.cos(jnp.pi * t / period))
        return jnp.float32(cfg["lr"])

    def schedule(step):
        lr = base(step)
        if cfg["warmup_steps"] > 0:
            lr = lr * jnp.minimum(1.0, (jnp.asarray(step, jnp.float32) + 1) / cfg["warmup_steps"])
        return lr

    return schedule


def make_temperature_schedule(cfg: dict):
    """The vanilla/optimistic policy-target temperature as a function of the steps trained since the
    run's start, usable inside jit: policy_temperature_schedule's points, linear in between and held
    outside, or the constant policy_temperature when it has none."""
    points = cfg["policy_temperature_schedule"]
    if not points:
        constant = float(cfg["policy_temperature"])
        return lambda step: jnp.float32(constant)
    steps = jnp.asarray([p["step"] for p in points], jnp.float32)
    temps = jnp.asarray([p["temperature"] for p in points], jnp.float32)
    return lambda step: jnp.interp(jnp.asarray(step, jnp.float32), steps, temps)
