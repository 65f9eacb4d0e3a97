"""All settings of the trainer (the train.jax stage's ``with:`` block):
declared once, with the rules between them.

Pure Python (no jax): the stage declaration builds its JSON Schema from these
declarations, and the trainer normalises settings given outside a spec (tool
commands, tests) with the same schema and checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lcpipe.model.config import MODEL_SETTINGS, POLICY_HEADS, VALUE_HEADS, canonical, check_model
from lcpipe.model.config import normalize as normalize_model
from lcpipe.settings import Check, Problem, defaults, field, group, normalize, settings
from lcpipe.train import cpu_devices
from lcpipe.train.model_source import FROM_CHECKPOINT, check_model_source, resolve_model, with_model

ROWS = {"result": 0, "best": 1, "played": 2, "orig": 3, "root": 4, "st": 5}
OPTIMIZERS = ("nadamw", "adamw", "nadam", "adam", "sgd", "lamb")
STEPS = 1_000_000_000  # bound of every step count and interval
PRECISIONS = ("float32", "bfloat16", "float16")


def _weight(default: float, description: str) -> Any:
    return field("number", default, description, minimum=0)


def _steps(default: int, description: str, minimum: int = 0) -> Any:
    return field("integer", default, description, minimum=minimum, maximum=STEPS)


_PATTERN = field(
    "string", description="Glob over parameter paths, e.g. 'body/encoder_*/q/kernel'.", min_length=1
)

LOSS_SETTINGS: dict[str, Any] = {
    "policy_loss": field(
        "string",
        "ce",
        "Policy loss: 'ce' (cross-entropy) or 'kl' (CE minus target entropy; same gradient).",
        enum=["ce", "kl"],
    ),
    "policy_weights": group(
        "Weight of each policy head's loss (heads not in the model are ignored).",
        {
            "vanilla": _weight(1.0, "Vanilla policy head."),
            "optimistic": _weight(1.0, "Optimistic policy head."),
            "soft": _weight(1.0, "Soft policy head."),
            "opponent": _weight(0.5, "Opponent's-reply head."),
            "next": _weight(0.5, "Next-move head."),
        },
    ),
    "policy_temperature": field(
        "number",
        1.0,
        "Target temperature: p^(1/T) renormalised over legal moves (vanilla/optimistic).",
        exclusive_minimum=0,
    ),
    "policy_temperature_schedule": field(
        "array",
        [],
        "Anneal policy_temperature over training: [{step, temperature}] points (steps trained since the "
        "run's start, increasing), linear in between, the first and last values held outside; "
        "[] = the constant policy_temperature.",
        items=group(
            "",
            {
                "step": _steps(0, "Step of this point."),
                "temperature": field("number", 1.0, "Target temperature at this step.", exclusive_minimum=0),
            },
            required=["step", "temperature"],
        ),
    ),
    "soft_temperature": field(
        "number", 4.0, "Target temperature of the 'soft' policy head.", exclusive_minimum=0
    ),
    "label_smoothing": field(
        "number",
        0.0,
        "Mix this much of the uniform distribution over legal moves into policy targets.",
        minimum=0,
        maximum=1,
    ),
    "optimistic_value_head": field(
        "string",
        "",
        "Value head whose error output weights the optimistic policy ('' = first with an error output).",
        enum=["", *VALUE_HEADS],
    ),
    "optimistic_strength": field(
        "number",
        2.0,
        "Optimistic weights: sigmoid(strength * (z - threshold)), z = (q_target - q_pred)/sigma_pred.",
    ),
    "optimistic_threshold": field("number", 0.0, "Optimistic weights: z threshold."),
    "value_weights": group(
        "Weight of each value head's WDL loss.",
        {
            "winner": _weight(1.0, "Winner (game result) head."),
            "q": _weight(1.0, "Q head."),
            "st": _weight(1.0, "Short-term head."),
        },
    ),
    "value_targets": group(
        "Target row of each value head.",
        {
            head: field("string", row, f"Target row of the {head} head.", enum=list(ROWS))
            for head, row in (("winner", "result"), ("q", "best"), ("st", "st"))
        },
    ),
    "q_ratio": field(
        "number",
        0.0,
        "Winner head target: (1-q_ratio)*result + q_ratio*root (WDL mix).",
        minimum=0,
        maximum=1,
    ),
    "value_error_weight": _weight(
        1.0, "Weight of the value-error MSE (error output vs squared q error / 4)."
    ),
    "categorical_weight": _weight(
        0.1, "Weight of the categorical value loss (target q binned over [-1, 1])."
    ),
    "moves_left_weight": _weight(1.0, "Weight of the moves-left Huber loss."),
    "moves_left_scale": field(
        "number", 20.0, "Moves-left: prediction and target (plies) are divided by this.", exclusive_minimum=0
    ),
    "moves_left_delta": field(
        "number",
        10.0,
        "Moves-left: Huber delta in plies (divided by the scale as well).",
        exclusive_minimum=0,
    ),
    "l2": _weight(1e-4, "L2 coefficient: loss += l2 * sum(w^2) over parameters chosen by l2_rules."),
    "l2_rules": field(
        "array",
        [{"pattern": "*kernel"}, {"pattern": "*", "l2": 0.0}],
        "Ordered glob rules over parameter paths; first rule with an 'l2' key sets the coefficient, "
        "a matching rule without it uses the global l2.",
        items=group(
            "",
            {"pattern": _PATTERN, "l2": field("number", description="L2 coefficient.", minimum=0)},
            required=["pattern"],
        ),
    ),
}

OPT_SETTINGS: dict[str, Any] = {
    "name": field("string", "nadamw", "Optimizer (sgd uses Nesterov momentum by default).", enum=OPTIMIZERS),
    "beta1": field("number", 0.9, "Adam-family first-moment decay.", minimum=0, exclusive_maximum=1),
    "beta2": field("number", 0.999, "Adam-family second-moment decay.", minimum=0, exclusive_maximum=1),
    "epsilon": field("number", 1e-7, "Adam-family epsilon.", exclusive_minimum=0),
    "momentum": field("number", 0.9, "SGD momentum.", minimum=0, exclusive_maximum=1),
    "nesterov": field("boolean", True, "SGD: Nesterov momentum."),
    "weight_decay": _weight(
        0.0, "Decoupled weight decay (times lr) for parameters whose rules do not set one."
    ),
    "rules": field(
        "array",
        [{"pattern": "*bias", "weight_decay": 0.0}, {"pattern": "*scale", "weight_decay": 0.0}],
        "Ordered glob rules over parameter paths (e.g. 'body/encoder_*/q/kernel'), first match per key "
        "wins: {pattern, weight_decay?, freeze?, lr_scale?}.",
        items=group(
            "",
            {
                "pattern": _PATTERN,
                "weight_decay": field("number", description="Weight decay.", minimum=0),
                "freeze": field("boolean", description="Do not train these parameters."),
                "lr_scale": field("number", description="Learning-rate factor.", minimum=0),
            },
            required=["pattern"],
        ),
    ),
    "clip_norm": _weight(0.0, "Clip gradients to this global norm (0 = off)."),
    "adaptive_clip": _weight(0.0, "Adaptive gradient clipping factor (unit-wise, AGC; 0 = off)."),
    "accumulate": field(
        "integer",
        1,
        "Gradient accumulation: each batch is split into this many micro-batches, one update.",
        minimum=1,
        maximum=65536,
    ),
    "lookahead_steps": _steps(0, "Lookahead: sync slow weights every k steps (0 = off)."),
    "lookahead_alpha": field("number", 0.5, "Lookahead: slow-weights step size.", minimum=0, maximum=1),
}

SCHEDULE_SETTINGS: dict[str, Any] = {
    "lr": _weight(1e-3, "Base learning rate (constant, or peak of cosine restarts)."),
    "warmup_steps": _steps(0, "Linear warmup steps (multiplies the schedule)."),
    "segments": field(
        "array",
        [],
        "Piecewise schedule: [{steps, type: constant|linear|cosine, lr, end_lr}], in order.",
        items=group(
            "",
            {
                "steps": _steps(1, "Steps of this segment.", minimum=1),
                "type": field(
                    "string", "constant", "Shape of the segment.", enum=["constant", "linear", "cosine"]
                ),
                "lr": field("number", 0.0, "Learning rate at its start.", minimum=0),
                "end_lr": field(["number", "null"], None, "Learning rate at its end (null: lr).", minimum=0),
            },
            required=["steps"],
        ),
    ),
    "boundaries": field(
        "array",
        [],
        "Step boundaries of a step schedule (with 'values').",
        items=field("integer", minimum=0, maximum=STEPS),
    ),
    "values": field(
        "array",
        [],
        "Learning rates of a step schedule: one more than boundaries.",
        items=field("number", minimum=0),
    ),
    "restart_period": _steps(0, "Cosine warm restarts: first period in steps (0 disables)."),
    "restart_mult": field(
        "number", 1.0, "Cosine warm restarts: period multiplier after each restart.", minimum=1
    ),
    "min_lr": _weight(0.0, "Cosine warm restarts: lowest learning rate."),
}

CHECKPOINT_SETTINGS = {
    "dir": field(
        "string",
        "",
        "Checkpoint directory (orbax); the stage resumes from it when it holds a checkpoint. "
        "'' = <stage workdir>/checkpoints.",
    ),
    "every": _steps(1000, "Save a checkpoint every this many steps (and at the end)."),
    "keep": field("integer", 3, "Keep the last N checkpoints.", minimum=1, maximum=10_000),
    "async": field("boolean", True, "Write checkpoints asynchronously."),
}
LOSS_SCALE_SETTINGS = {
    "initial": field("number", 32768.0, "float16: initial dynamic loss scale.", exclusive_minimum=0),
    "period": _steps(2000, "float16: double the scale after this many finite steps.", minimum=1),
}
SPIKE_GUARD_SETTINGS = {
    "enabled": field(
        "boolean",
        False,
        "Skip a step whose loss or gradient norm exceeds factor times its running median (like a "
        "non-finite step: weights, optimizer state, batch-norm statistics and averages untouched).",
    ),
    "factor": field(
        "number", 10.0, "A spike: above this many times the running median.", exclusive_minimum=1
    ),
    "window": field(
        "integer", 100, "Running median over this many recent finite steps.", minimum=3, maximum=10_000
    ),
    "min_history": field(
        "integer",
        20,
        "The guard acts once this many finite steps are in its window (early losses fall fast).",
        minimum=1,
        maximum=10_000,
    ),
    "rollback_after": _steps(
        0,
        "After this many consecutive spikes restore the last checkpoint and halve the learning rate "
        "(a multiplier kept in the checkpoints); 0 = never.",
    ),
}
GROUPS: dict[str, tuple[dict, str]] = {
    "model": (
        MODEL_SETTINGS,
        "Network architecture (see docs/parameters.md), or 'from_checkpoint': the model init_checkpoint holds.",
    ),
    "optimizer": (OPT_SETTINGS, "Optimizer, clipping, accumulation, per-parameter rules."),
    "schedule": (SCHEDULE_SETTINGS, "Learning-rate schedule."),
    "losses": (LOSS_SETTINGS, "Loss terms, targets and weights."),
    "checkpoint": (CHECKPOINT_SETTINGS, "Orbax checkpoints."),
    "spike_guard": (SPIKE_GUARD_SETTINGS, "Loss and gradient-norm spike guard."),
    "loss_scale": (LOSS_SCALE_SETTINGS, "Dynamic loss scaling (float16 only)."),
}

TOP_SETTINGS: dict[str, Any] = {
    "precision": field("string", "float32", "Compute dtype (parameters stay float32).", enum=PRECISIONS),
    "seed": field("integer", 0, "Seed of parameter init and dropout.", minimum=0, maximum=2**32 - 1),
    "cpu_devices": field(
        ["string", "integer"],
        "auto",
        "Without an accelerator: 'auto' trains data-parallel on one single-threaded XLA CPU device "
        "per core (faster than one multi-threaded device), N uses N such devices, 1 one device using "
        "every core. Applied before JAX starts (the stage's prepare); ignored when an accelerator "
        "is present.",
        minimum=1,
        maximum=4096,
        pattern="^auto$",
    ),
    "total_steps": _steps(
        1000,
        "Stop after this many steps (0 = until the input ends). This and the other step "
        "intervals count the steps trained since the run's start: 0, or the step of "
        "init_checkpoint (an imported lc0 net keeps its training steps).",
    ),
    "steps_per_network": _steps(
        500, "Emit a NetworkSnapshot on 'weights' every this many steps (and at the end)."
    ),
    "test_every": _steps(100, "Evaluate on 'test' batches every this many steps (0 = never)."),
    "test_batches": field("integer", 4, "Batches per test evaluation.", minimum=1, maximum=1_000_000),
    "validation_every": _steps(500, "Evaluate on 'validation' batches every this many steps (0 = never)."),
    "validation_batches": field(
        "integer", 8, "Batches per validation evaluation.", minimum=1, maximum=1_000_000
    ),
    "metrics_every": _steps(10, "Publish training metrics every this many steps, averaged over them."),
    "max_steps_per_game": field(
        "number",
        0.0,
        "RL throttle: train at most this many steps per game the loader's "
        "chunk pools have taken in (steps and games both counted from the run's start; "
        "games on disk at a restart included): the trainer waits for self-play when it is "
        "ahead. 0 = no limit.",
        minimum=0,
        maximum=1e6,
    ),
    "max_nan_steps": _steps(20, "Stop with an error after this many consecutive non-finite steps (skipped)."),
    "init_checkpoint": field(
        "string",
        "",
        "Start from the weights of this checkpoint directory (not a resume): its "
        "step count carries on, the optimizer state and the learning-rate schedule start "
        "afresh.",
    ),
    "input_format": field(
        "integer",
        1,
        "lc0 input format of the training data (recorded in the emitted snapshots).",
        enum=[1, 2, 3, 4, 5, 132, 133],
    ),
    "augment_mirror": field(
        "boolean",
        False,
        "Mirror a random half (each row with probability 1/2) of every training batch's positions "
        "without castling rights left-right (files a<->h), with their policy and move targets. Input "
        "formats 1 and 2 only: the canonical formats already fix each position's orientation.",
    ),
    "export_on_stop": field(
        "boolean",
        True,
        "On a clean stop (Ctrl-C, SIGTERM, a --stop-after bound) emit the steps "
        "trained since the last network before exiting, so an interrupted run keeps its last "
        "work.",
    ),
}

TRAIN_SETTINGS: dict[str, Any] = {
    **TOP_SETTINGS,
    **{name: group(desc, table) for name, (table, desc) in GROUPS.items()},
    # or 'from_checkpoint': the model init_checkpoint holds (lcpipe/train/model_source.py)
    "model": group(GROUPS["model"][1], MODEL_SETTINGS, strings=(FROM_CHECKPOINT,)),
}
# Averaging is a stage of its own (train.swa, train.ema over train.jax's steps output).
_AVERAGE_STAGE = (
    "averaging is its own stage now: add a stage {{use: train.{kind}, from: <this stage>}} (its "
    "settings: {settings}) and export from it (docs/stages.md)"
)
REMOVED_SETTINGS = {
    "swa": _AVERAGE_STAGE.format(kind="swa", settings="period, max_count, bn_batches"),
    "ema": _AVERAGE_STAGE.format(kind="ema", settings="decay, bn_batches"),
    "export_kinds": "train.jax emits its raw weights; averaged ones come from a train.swa / train.ema "
    "stage: export from it (e.g. from: [train, swa] for both)",
    "distributed": "processes are the run's, not a stage's: `lcpipe run --coordinator HOST:PORT "
    "--num-processes N --process-id I` (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID); "
    "see docs/scaling.md",
}
TRAIN_SCHEMA = settings(TRAIN_SETTINGS, removed=REMOVED_SETTINGS)
LOSS_SCHEMA = settings(LOSS_SETTINGS)
OPT_SCHEMA = settings(OPT_SETTINGS)
SCHEDULE_SCHEMA = settings(SCHEDULE_SETTINGS)


def check_schedule(cfg: dict):
    """Rules between schedule settings (paths relative to ``schedule:``)."""
    if cfg["boundaries"] and len(cfg["values"]) != len(cfg["boundaries"]) + 1:
        yield Problem(
            ("values",),
            f"a step schedule needs one more value than boundaries: {len(cfg['boundaries'])} "
            f"boundaries, {len(cfg['values'])} values",
            "give len(boundaries) + 1 learning rates",
        )
    if list(cfg["boundaries"]) != sorted(set(cfg["boundaries"])):
        yield Problem(("boundaries",), "schedule boundaries must be strictly increasing", "sort them")


def check_temperature_schedule(cfg: dict):
    """Rules of policy_temperature_schedule (paths relative to ``losses:``)."""
    steps = [p["step"] for p in cfg["policy_temperature_schedule"]]
    if steps != sorted(set(steps)):
        yield Problem(
            ("policy_temperature_schedule",),
            f"the steps of policy_temperature_schedule must be strictly increasing, got {steps}",
            "list the points in step order, one per step",
        )


def check_spike_guard(cfg: dict):
    """Rules between the spike guard and the rest (paths relative to the trainer's settings)."""
    guard = cfg["spike_guard"]
    if guard["enabled"] and guard["min_history"] > guard["window"]:
        yield Problem(
            ("spike_guard", "min_history"),
            f"min_history {guard['min_history']} is larger than the window {guard['window']}",
            "make min_history at most the window",
        )
    if guard["enabled"] and guard["rollback_after"] and cfg["optimizer"]["lookahead_steps"]:
        yield Problem(
            ("spike_guard", "rollback_after"),
            "a rollback's halved learning rate cannot be combined with lookahead (its slow-weight "
            "sync would be scaled too)",
            "set optimizer.lookahead_steps: 0, or spike_guard.rollback_after: 0",
        )


def check_losses_fit_model(cfg: dict):
    """Rules between the losses and the model (paths relative to the trainer's settings)."""
    model = cfg["model"]
    if "optimistic" in model["policy_heads"] and not model["value_error"]:
        yield Problem(
            ("model", "policy_heads"),
            "training the optimistic policy head needs a value head with an error output",
            "add that value head to model.value_error, e.g. value_error: [winner]",
        )
    head = cfg["losses"]["optimistic_value_head"]
    if head and head not in cfg["model"]["value_error"]:
        yield Problem(
            ("losses", "optimistic_value_head"),
            f"value head {head!r} has no error output",
            f"add {head!r} to model.value_error, or leave optimistic_value_head empty",
        )


def check_augmentation(cfg: dict):
    """Mirroring is only legal for the non-canonical input formats (lcpipe/train/augment.py)."""
    if cfg["augment_mirror"] and cfg["input_format"] not in (1, 2):
        yield Problem(
            ("augment_mirror",),
            f"augment_mirror needs input format 1 or 2, not {cfg['input_format']}: the canonical "
            "formats already fix each position's orientation",
            "set augment_mirror: false for this data",
        )


def within(key: str, check: Check) -> Check:
    """A check of one group, run on the whole settings with the group's key in front of its paths."""

    def run(cfg: dict) -> Iterable[Problem]:
        for problem in check(cfg[key]) or ():
            yield Problem((key, *problem.path), problem.message, problem.hint)

    run.__name__ = f"{check.__name__}_in_{key}"
    return run


TRAIN_CHECKS: tuple[Check, ...] = (
    check_model_source,
    with_model(within("model", check_model)),
    within("schedule", check_schedule),
    within("losses", check_temperature_schedule),
    check_spike_guard,
    with_model(check_losses_fit_model),
    check_augmentation,
)


def loss_defaults() -> dict[str, Any]:
    return defaults(LOSS_SETTINGS)


def optimizer_defaults() -> dict:
    return defaults(OPT_SETTINGS)


def schedule_defaults() -> dict:
    return defaults(SCHEDULE_SETTINGS)


def normalize_losses(cfg: dict | None) -> dict:
    return normalize(LOSS_SCHEMA, cfg, (check_temperature_schedule,), "losses")


def normalize_optimizer(cfg: dict | None) -> dict:
    return normalize(OPT_SCHEMA, cfg, (), "optimizer")


def normalize_schedule(cfg: dict | None) -> dict:
    return normalize(SCHEDULE_SCHEMA, cfg, (check_schedule,), "schedule")


def settings_defaults() -> dict:
    return defaults(TRAIN_SETTINGS)


def normalize_settings(given: dict | None) -> dict:
    """Fill every default and validate; ValueError with the offending key."""
    out = normalize(TRAIN_SCHEMA, resolve_model(dict(given or {})), TRAIN_CHECKS, "trainer")
    out["model"] = canonical(out["model"])
    cpu_devices.resolve(out["cpu_devices"])  # raises on anything but 'auto' or a positive integer
    return out


def settings_schema() -> dict[str, Any]:
    """JSON Schema properties of every setting, each with default and description."""
    return TRAIN_SCHEMA["properties"]


__all__ = [
    "ROWS",
    "OPTIMIZERS",
    "POLICY_HEADS",
    "VALUE_HEADS",
    "TRAIN_SETTINGS",
    "TRAIN_SCHEMA",
    "TRAIN_CHECKS",
    "normalize_settings",
    "normalize_losses",
    "normalize_optimizer",
    "normalize_schedule",
    "normalize_model",
    "settings_defaults",
    "loss_defaults",
    "optimizer_defaults",
    "schedule_defaults",
    "settings_schema",
]
