"""All settings of the trainer (the train.jax stage's ``with:`` block).

Pure Python: the stage declaration builds its JSON Schema from these tables.
"""

from __future__ import annotations

import copy
from typing import Any

from lcpipe.train import cpu_devices
from lcpipe.train.model_config import MODEL_SETTINGS, normalize

ROWS = {"result": 0, "best": 1, "played": 2, "orig": 3, "root": 4, "st": 5}
OPTIMIZERS = ("nadamw", "adamw", "nadam", "adam", "sgd", "lamb")


def check_rules(rules: list, where: str) -> None:
    for i, rule in enumerate(rules or ()):
        if not isinstance(rule, dict) or "pattern" not in rule:
            raise ValueError(f"{where}[{i}] must be a mapping with a 'pattern' glob")


LOSS_SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "policy_loss": ("ce", "string", "Policy loss: 'ce' (cross-entropy) or 'kl' (CE minus target entropy; same gradient)."),
    "policy_weights": ({"vanilla": 1.0, "optimistic": 1.0, "soft": 1.0, "opponent": 0.5, "next": 0.5}, "object",
                       "Weight of each policy head's loss (heads not in the model are ignored)."),
    "policy_temperature": (1.0, "number", "Target temperature: p^(1/T) renormalised over legal moves (vanilla/optimistic)."),
    "soft_temperature": (4.0, "number", "Target temperature of the 'soft' policy head."),
    "label_smoothing": (0.0, "number", "Mix this much of the uniform distribution over legal moves into policy targets."),
    "optimistic_value_head": ("", "string", "Value head whose error output weights the optimistic policy ('' = first with an error output)."),
    "optimistic_strength": (2.0, "number", "Optimistic weights: sigmoid(strength * (z - threshold)), z = (q_target - q_pred)/sigma_pred."),
    "optimistic_threshold": (0.0, "number", "Optimistic weights: z threshold."),
    "value_weights": ({"winner": 1.0, "q": 1.0, "st": 1.0}, "object", "Weight of each value head's WDL loss."),
    "value_targets": ({"winner": "result", "q": "best", "st": "st"}, "object",
                      "Target row of each value head: result, best, played, orig, root or st."),
    "q_ratio": (0.0, "number", "Winner head target: (1-q_ratio)*result + q_ratio*root (WDL mix)."),
    "value_error_weight": (1.0, "number", "Weight of the value-error MSE (error output vs squared q error / 4)."),
    "categorical_weight": (0.1, "number", "Weight of the categorical value loss (target q binned over [-1, 1])."),
    "moves_left_weight": (1.0, "number", "Weight of the moves-left Huber loss."),
    "moves_left_scale": (20.0, "number", "Moves-left: prediction and target (plies) are divided by this."),
    "moves_left_delta": (10.0, "number", "Moves-left: Huber delta in plies (divided by the scale as well)."),
    "l2": (1e-4, "number", "L2 coefficient: loss += l2 * sum(w^2) over parameters chosen by l2_rules."),
    "l2_rules": ([{"pattern": "*kernel"}, {"pattern": "*", "l2": 0.0}], "array",
                 "Ordered glob rules over parameter paths; first rule with an 'l2' key sets the coefficient, "
                 "a matching rule without it uses the global l2."),
}


def loss_defaults() -> dict[str, Any]:
    return {k: copy.deepcopy(v[0]) for k, v in LOSS_SETTINGS.items()}


def normalize_losses(cfg: dict | None) -> dict:
    out = loss_defaults()
    unknown = set(cfg or {}) - set(out)
    if unknown:
        raise ValueError(f"unknown losses settings: {sorted(unknown)}")
    for k, v in (cfg or {}).items():
        if isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = copy.deepcopy(v)
    if out["policy_loss"] not in ("ce", "kl"):
        raise ValueError("losses.policy_loss must be 'ce' or 'kl'")
    for head, row in out["value_targets"].items():
        if row not in ROWS:
            raise ValueError(f"losses.value_targets.{head}: unknown row {row!r}; choose from {list(ROWS)}")
    return out


OPT_SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "name": ("nadamw", "string", f"Optimizer: one of {list(OPTIMIZERS)} (sgd uses Nesterov momentum by default)."),
    "beta1": (0.9, "number", "Adam-family first-moment decay."),
    "beta2": (0.999, "number", "Adam-family second-moment decay."),
    "epsilon": (1e-7, "number", "Adam-family epsilon."),
    "momentum": (0.9, "number", "SGD momentum."),
    "nesterov": (True, "boolean", "SGD: Nesterov momentum."),
    "weight_decay": (0.0, "number", "Decoupled weight decay (times lr) for parameters whose rules do not set one."),
    "rules": ([{"pattern": "*bias", "weight_decay": 0.0}, {"pattern": "*scale", "weight_decay": 0.0}], "array",
              "Ordered glob rules over parameter paths (e.g. 'body/encoder_*/q/kernel'), first match per key wins: "
              "{pattern, weight_decay?, freeze?, lr_scale?}."),
    "clip_norm": (0.0, "number", "Clip gradients to this global norm (0 = off)."),
    "adaptive_clip": (0.0, "number", "Adaptive gradient clipping factor (unit-wise, AGC; 0 = off)."),
    "accumulate": (1, "integer", "Gradient accumulation: each batch is split into this many micro-batches, one update."),
    "lookahead_steps": (0, "integer", "Lookahead: sync slow weights every k steps (0 = off)."),
    "lookahead_alpha": (0.5, "number", "Lookahead: slow-weights step size."),
}


def optimizer_defaults() -> dict:
    return {k: copy.deepcopy(v[0]) for k, v in OPT_SETTINGS.items()}


def normalize_optimizer(cfg: dict | None) -> dict:
    out = optimizer_defaults()
    unknown = set(cfg or {}) - set(out)
    if unknown:
        raise ValueError(f"unknown optimizer settings: {sorted(unknown)}")
    out.update(copy.deepcopy(cfg or {}))
    if out["name"] not in OPTIMIZERS:
        raise ValueError(f"optimizer.name must be one of {list(OPTIMIZERS)}, not {out['name']!r}")
    if int(out["accumulate"]) < 1:
        raise ValueError("optimizer.accumulate must be >= 1")
    check_rules(out["rules"], "optimizer.rules")
    return out


SCHEDULE_SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "lr": (1e-3, "number", "Base learning rate (constant, or peak of cosine restarts)."),
    "warmup_steps": (0, "integer", "Linear warmup steps (multiplies the schedule)."),
    "segments": ([], "array", "Piecewise schedule: [{steps, type: constant|linear|cosine, lr, end_lr}], in order."),
    "boundaries": ([], "array", "Step boundaries of a step schedule (with 'values')."),
    "values": ([], "array", "Learning rates of a step schedule: one more than boundaries."),
    "restart_period": (0, "integer", "Cosine warm restarts: first period in steps (0 disables)."),
    "restart_mult": (1.0, "number", "Cosine warm restarts: period multiplier after each restart."),
    "min_lr": (0.0, "number", "Cosine warm restarts: lowest learning rate."),
}


def schedule_defaults() -> dict:
    return {k: copy.deepcopy(v[0]) for k, v in SCHEDULE_SETTINGS.items()}


def normalize_schedule(cfg: dict | None) -> dict:
    out = schedule_defaults()
    unknown = set(cfg or {}) - set(out)
    if unknown:
        raise ValueError(f"unknown schedule settings: {sorted(unknown)}")
    out.update(copy.deepcopy(cfg or {}))
    if out["boundaries"] and len(out["values"]) != len(out["boundaries"]) + 1:
        raise ValueError("schedule.values must have one more entry than schedule.boundaries")
    for i, seg in enumerate(out["segments"]):
        if seg.get("type", "constant") not in ("constant", "linear", "cosine") or int(seg.get("steps", 0)) <= 0:
            raise ValueError(f"schedule.segments[{i}] needs steps > 0 and type constant, linear or cosine")
    return out



SWA_SETTINGS = {
    "enabled": (False, "boolean", "Keep a stochastic weight average of the parameters."),
    "period": (100, "integer", "Add the current weights to the average every this many steps."),
    "max_count": (10, "integer", "Cap of the running count: later weights get weight 1/max_count."),
}
EMA_SETTINGS = {
    "enabled": (False, "boolean", "Keep an exponential moving average of the parameters."),
    "decay": (0.999, "number", "EMA decay per step."),
}
CHECKPOINT_SETTINGS = {
    "dir": ("", "string", "Checkpoint directory (orbax); the stage resumes from it when it holds a checkpoint. "
                          "'' = <stage workdir>/checkpoints."),
    "every": (1000, "integer", "Save a checkpoint every this many steps (and at the end)."),
    "keep": (3, "integer", "Keep the last N checkpoints."),
    "async": (True, "boolean", "Write checkpoints asynchronously."),
}
LOSS_SCALE_SETTINGS = {
    "initial": (32768.0, "number", "float16: initial dynamic loss scale."),
    "period": (2000, "integer", "float16: double the scale after this many finite steps."),
}
DIST_SETTINGS = {
    "coordinator_address": ("", "string", "jax.distributed coordinator host:port ('' = single process)."),
    "num_processes": (1, "integer", "Processes in the job."),
    "process_id": (0, "integer", "This process's index."),
}

GROUPS: dict[str, tuple[dict, str]] = {
    "model": (MODEL_SETTINGS, "Network architecture (see docs/parameters.md)."),
    "optimizer": (OPT_SETTINGS, "Optimizer, clipping, accumulation, per-parameter rules."),
    "schedule": (SCHEDULE_SETTINGS, "Learning-rate schedule."),
    "losses": (LOSS_SETTINGS, "Loss terms, targets and weights."),
    "swa": (SWA_SETTINGS, "Stochastic weight averaging."),
    "ema": (EMA_SETTINGS, "Exponential moving average of the weights."),
    "checkpoint": (CHECKPOINT_SETTINGS, "Orbax checkpoints."),
    "loss_scale": (LOSS_SCALE_SETTINGS, "Dynamic loss scaling (float16 only)."),
    "distributed": (DIST_SETTINGS, "Multi-host training with jax.distributed."),
}

TOP_SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "precision": ("float32", "string", "Compute dtype: float32, bfloat16 or float16 (parameters stay float32)."),
    "seed": (0, "integer", "Seed of parameter init and dropout."),
    "cpu_devices": ("auto", ["string", "integer"],
                    "Without an accelerator: 'auto' trains data-parallel on one single-threaded XLA CPU device per "
                    "core (faster than one multi-threaded device), N uses N such devices, 1 one device using every "
                    "core. Applied before JAX starts (the stage's prepare); ignored when an accelerator is present."),
    "total_steps": (1000, "integer", "Stop after this many steps (0 = until the input ends). This and the other step intervals count the steps trained since the run's start: 0, or the step of init_checkpoint (an imported lc0 net keeps its training steps)."),
    "steps_per_network": (500, "integer", "Emit a NetworkSnapshot on 'weights' every this many steps (and at the end)."),
    "test_every": (100, "integer", "Evaluate on 'test' batches every this many steps (0 = never)."),
    "test_batches": (4, "integer", "Batches per test evaluation."),
    "validation_every": (500, "integer", "Evaluate on 'validation' batches every this many steps (0 = never)."),
    "validation_batches": (8, "integer", "Batches per validation evaluation."),
    "metrics_every": (10, "integer", "Publish training metrics every this many steps."),
    "max_steps_per_game": (0.0, "number", "RL throttle: train at most this many steps per game the loader's chunk pools have taken in (steps and games both counted from the run's start; games on disk at a restart included): the trainer waits for self-play when it is ahead. 0 = no limit."),
    "max_nan_steps": (20, "integer", "Stop with an error after this many consecutive non-finite steps (skipped)."),
    "init_checkpoint": ("", "string", "Start from the weights of this checkpoint directory (not a resume): its step count carries on, the optimizer state and the learning-rate schedule start afresh."),
    "input_format": (1, "integer", "lc0 input format of the training data (recorded in the emitted snapshots)."),
    "export_kinds": (["raw", "swa", "ema"], "array", "Which weights to emit: raw and, when enabled, swa / ema."),
    "export_on_stop": (True, "boolean", "On a clean stop (Ctrl-C, SIGTERM, a --stop-after bound) emit the steps trained since the last network before exiting, so an interrupted run keeps its last work."),
}


def _group_defaults(table: dict) -> dict:
    return {k: copy.deepcopy(v[0]) for k, v in table.items()}


def _normalize_group(name: str, table: dict, given: dict | None) -> dict:
    out = _group_defaults(table)
    unknown = set(given or {}) - set(out)
    if unknown:
        raise ValueError(f"unknown {name} settings: {sorted(unknown)}")
    out.update(copy.deepcopy(given or {}))
    return out


def settings_defaults() -> dict:
    out = {k: copy.deepcopy(v[0]) for k, v in TOP_SETTINGS.items()}
    for name, (table, _) in GROUPS.items():
        out[name] = _group_defaults(table)
    return out


def normalize_settings(given: dict | None) -> dict:
    """Fill every default and validate; ValueError with the offending key."""
    given = dict(given or {})
    unknown = set(given) - set(TOP_SETTINGS) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown trainer settings: {sorted(unknown)}")
    out = {k: copy.deepcopy(given.get(k, v[0])) for k, v in TOP_SETTINGS.items()}
    out["model"] = normalize(given.get("model"))
    out["optimizer"] = normalize_optimizer(given.get("optimizer"))
    out["schedule"] = normalize_schedule(given.get("schedule"))
    out["losses"] = normalize_losses(given.get("losses"))
    for name in ("swa", "ema", "checkpoint", "loss_scale", "distributed"):
        out[name] = _normalize_group(name, GROUPS[name][0], given.get(name))
    if out["precision"] not in ("float32", "bfloat16", "float16"):
        raise ValueError("precision must be float32, bfloat16 or float16")
    if not isinstance(out["max_steps_per_game"], (int, float)) or out["max_steps_per_game"] < 0:
        raise ValueError(f"max_steps_per_game must be a number >= 0, not {out['max_steps_per_game']!r}")
    cpu_devices.resolve(out["cpu_devices"])  # raises on anything but 'auto' or a positive integer
    return out


def _json_type(default: Any, declared: Any) -> dict:
    schema: dict[str, Any] = {"type": declared}
    if declared == "number":
        schema["type"] = "number"
    if declared == "array":
        schema["items"] = {}
    return schema


def settings_schema() -> dict[str, Any]:
    """JSON Schema properties of every setting, each with default and description."""
    props: dict[str, Any] = {}
    for key, (default, typ, desc) in TOP_SETTINGS.items():
        props[key] = {**_json_type(default, typ), "default": copy.deepcopy(default), "description": desc}
    for name, (table, desc) in GROUPS.items():
        sub = {k: {**_json_type(d, t), "default": copy.deepcopy(d), "description": s} for k, (d, t, s) in table.items()}
        props[name] = {"type": "object", "additionalProperties": False, "properties": sub,
                       "default": _group_defaults(table), "description": desc}
    return props
