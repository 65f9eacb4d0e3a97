"""`lcpipe train ...`: the tools around a training job, each on a spec's train.jax settings.

Parsing and printing only; the work is in lcpipe/train/tools/.
"""

from __future__ import annotations

import argparse
import json
import sys

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.plugin import hookimpl


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def _spec_args(p, data: bool = False) -> None:
    p.add_argument("spec", metavar="SPEC", help="pipeline spec whose train.jax settings (and data) to use")
    p.add_argument("--stage", default=None, help="the train.jax stage (needed when the spec has several)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of the spec, as for lcpipe run (repeatable)",
    )
    if data:
        p.add_argument(
            "--data-timeout",
            type=_positive(float),
            default=300.0,
            metavar="S",
            help="give up when the spec's data stages have not delivered the batches within S seconds (300)",
        )


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="training tools: init, overfit, tune-lr, eval, describe, migrate, backfill",
        description="Tools around a training job. Each reads the train.jax settings of a spec, so the "
        "model, losses and data are the ones the pipeline uses (docs/tools.md).",
    )
    sub = train.add_subparsers(dest="train_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("init", help="create the checkpoint a run starts from (random, or --from an lc0 net)")
    _spec_args(p)
    p.add_argument("out", metavar="OUT", help="checkpoint directory to create")
    p.add_argument(
        "--from", dest="source", metavar="NET", help="an lc0 .pb.gz (or a checkpoint) to start from"
    )
    p.add_argument("--seed", type=int, default=None, help="seed of random weights (default: the spec's seed)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("overfit", help="train one batch for many steps; fails unless the loss falls")
    _spec_args(p, data=True)
    p.add_argument("--steps", type=_positive(int), default=200, help="training steps (200)")
    p.add_argument(
        "--lr", type=_positive(float), default=None, help="constant lr (default: the schedule's lr)"
    )
    p.add_argument(
        "--min-drop",
        type=float,
        default=0.3,
        help="fail unless the loss of the last tenth of the steps is this fraction below the first (0.3)",
    )
    p.add_argument(
        "--print-every", type=_positive(int), default=20, help="print the losses every N steps (20)"
    )
    p.set_defaults(handler=cmd_overfit)

    p = sub.add_parser("tune-lr", help="sweep the learning rate exponentially; CSV, PNG and a suggested lr")
    _spec_args(p, data=True)
    p.add_argument("--steps", type=_positive(int), default=100, help="steps of the sweep (100)")
    p.add_argument("--batches", type=_positive(int), default=50, help="distinct batches, cycled (50)")
    p.add_argument("--min-lr", type=_positive(float), default=1e-6, help="first lr (1e-6)")
    p.add_argument("--max-lr", type=_positive(float), default=1.0, help="last lr (1.0)")
    p.add_argument("--csv", default="lr-sweep.csv", help="where to write step, lr, loss (lr-sweep.csv)")
    p.add_argument("--png", default="lr-sweep.png", help="plot of the loss against the lr (lr-sweep.png)")
    p.set_defaults(handler=cmd_tune_lr)

    p = sub.add_parser(
        "eval", help="every loss and metric of a network on the spec's test or validation data"
    )
    _spec_args(p, data=True)
    p.add_argument("network", metavar="NETWORK", help="checkpoint directory or lc0 .pb.gz")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")
    p.add_argument(
        "--kind",
        default="raw",
        help="raw (default), or the stage name of a train.swa / train.ema average the checkpoint holds",
    )
    p.add_argument(
        "--data", default="test", choices=["test", "validation", "train"], help="which input (test)"
    )
    p.add_argument("--batches", type=_positive(int), default=None, help="batches (default: test_batches)")
    p.add_argument("--reliability-png", metavar="PNG", help="write the value reliability diagram")
    p.add_argument(
        "--dump", metavar="FILE", help="inputs, targets and outputs of the first positions (.npz or .jsonl)"
    )
    p.add_argument("--dump-positions", type=_positive(int), default=16, help="positions to dump (16)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("describe", help="what a checkpoint holds: step, model, optimizer, parameters, SWA")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint directory of train.jax")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")
    p.add_argument("--depth", type=int, default=2, help="levels of the parameter tree to sum up (2)")
    p.add_argument("--params", action="store_true", help="list every parameter with its shape")
    p.add_argument(
        "--spec", default=None, help="a spec whose optimizer settings rebuild an older checkpoint's"
    )
    p.add_argument("--stage", default=None, help="the train.jax stage of --spec")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(handler=cmd_describe)

    p = sub.add_parser(
        "migrate", help="carry a checkpoint's weights into the spec's (changed) model and optimizer"
    )
    _spec_args(p)
    p.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="checkpoint directory (or .pb.gz) to take weights from"
    )
    p.add_argument("out", metavar="OUT", help="checkpoint directory to create")
    p.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")
    p.add_argument(
        "--seed", type=int, default=None, help="seed of re-initialised weights (default: the spec's)"
    )
    p.add_argument("--list", action="store_true", help="list every parameter, not only the counts per module")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("backfill", help="evaluate older checkpoints; write their metrics to the spec's sinks")
    _spec_args(p, data=True)
    p.add_argument("checkpoints", metavar="CHECKPOINTS", help="checkpoint directory holding the steps")
    p.add_argument("--steps", default="", help="comma-separated steps (default: every step in the directory)")
    p.add_argument(
        "--data", default="test", choices=["test", "validation", "train"], help="which input (test)"
    )
    p.add_argument("--batches", type=_positive(int), default=None, help="batches (default: test_batches)")
    p.set_defaults(handler=cmd_backfill)


def _err(message: str, code: int = EXIT_FAILED) -> int:
    print(f"lcpipe train: {message}", file=sys.stderr)
    return code


def _run(fn, args) -> int:
    """Spec errors as lcpipe validate prints them; tool errors with their exit code."""
    from lcpipe.spec.errors import SpecErrors
    from lcpipe.train.tools.errors import ToolError

    try:
        return fn(args)
    except SpecErrors as exc:
        for error in exc.errors:
            print(error.format(), file=sys.stderr)
        return EXIT_USAGE
    except ToolError as exc:
        return _err(str(exc), exc.exit_code)


def _load(args):
    from lcpipe.train.cpu_devices import configure
    from lcpipe.train.tools.spec_source import load_train_spec

    spec = load_train_spec(args.spec, args.stage, args.set)
    configure(spec.settings["cpu_devices"])  # as the stage's prepare: before JAX starts
    return spec


def _status(message: str) -> None:
    """One line before a step that may take a while (JAX compiling, a large network read)."""
    print(f"{message} ...", file=sys.stderr, flush=True)


def _default_batches(settings: dict, port: str) -> int:
    """The batches the trainer evaluates on this input (test_batches for the train input)."""
    return int(settings["validation_batches" if port == "validation" else "test_batches"])


def _batches(spec, port: str, count: int, args):
    from lcpipe.train.tools.batches import take_batches
    from lcpipe.train.tools.progress import Progress

    progress = Progress()
    try:
        return take_batches(spec, port, count, args.data_timeout, progress)
    finally:
        progress.done()


# -- init ---------------------------------------------------------------------------
def cmd_init(args) -> int:
    return _run(_init, args)


def _init(args) -> int:
    from lcpipe.train.tools.initialize import continue_lines, init_checkpoint

    spec = _load(args)
    _status(f"reading {args.source}" if args.source else "initialising the spec's model")
    done = init_checkpoint(spec.settings, args.out, args.source, args.seed)
    for note in done["notes"]:
        print(f"note: {note}")
    origin = f"the weights of {args.source}" if args.source else "random weights"
    print(f"wrote {args.out}: step {done['step']}, {origin}")
    print(continue_lines(spec.stage, args.out, done["model"]))
    return EXIT_OK


# -- overfit --------------------------------------------------------------------------
def cmd_overfit(args) -> int:
    return _run(_overfit, args)


def _overfit(args) -> int:
    from lcpipe.train.tools.overfit import overfit

    if not 0 < args.min_drop < 1:
        return _err("--min-drop must be between 0 and 1", EXIT_USAGE)
    spec = _load(args)
    (batch,) = _batches(spec, "train", 1, args)

    def show(step: int, metrics: dict) -> None:
        if step == 1 or step % args.print_every == 0 or step == args.steps:
            parts = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if k.endswith("_loss"))
            print(f"step {step:5d}  loss={metrics['loss']:.4f}  {parts}", flush=True)

    _status(f"training one batch for {args.steps} steps (the first compiles the step)")
    result = overfit(spec.settings, batch, args.steps, args.lr, show)
    drop = 1 - result.last / result.first if result.first else 0.0
    if not result.fell(args.min_drop):
        return _err(
            f"the loss did not fall: {result.first:.4f} -> {result.last:.4f} ({drop:.0%} lower, "
            f"--min-drop asks for {args.min_drop:.0%}); check the data's targets, the model and the lr"
        )
    print(f"ok: loss {result.first:.4f} -> {result.last:.4f} ({drop:.0%} lower) in {args.steps} steps")
    return EXIT_OK


# -- tune-lr --------------------------------------------------------------------------
def cmd_tune_lr(args) -> int:
    return _run(_tune_lr, args)


def _tune_lr(args) -> int:
    from lcpipe.train.tools.lr_sweep import sweep, write_csv, write_plot
    from lcpipe.train.tools.progress import Progress

    if args.min_lr >= args.max_lr or args.steps < 2:
        return _err("tune-lr needs --min-lr below --max-lr and at least 2 --steps", EXIT_USAGE)
    spec = _load(args)
    batches = _batches(spec, "train", min(args.batches, args.steps), args)
    _status(f"sweeping the lr over {args.steps} steps (the first compiles the step)")
    progress = Progress()
    result = sweep(
        spec.settings,
        batches,
        args.steps,
        args.min_lr,
        args.max_lr,
        lambda i, lr, loss: progress.update(i, args.steps, "lr sweep", f"lr={lr:.3g} loss={loss:.4f}"),
    )
    progress.done()
    write_csv(result, args.csv)
    write_plot(result, args.png)
    best = result.best_index()
    if result.stopped_early:
        print(f"stopped at lr {result.lrs[-1]:.3g} (step {len(result.lrs)}): the loss diverged")
    print(f"lowest smoothed loss {result.smoothed[best]:.4f} at lr {result.lrs[best]:.3g}")
    print(f"wrote {args.csv} and {args.png}")
    print(
        f"suggested lr: {result.suggested_lr():.3g}  (--set stages.{spec.stage}.with.schedule.lr={result.suggested_lr():.3g})"
    )
    return EXIT_OK


# -- eval -----------------------------------------------------------------------------
def cmd_eval(args) -> int:
    return _run(_eval, args)


def _eval(args) -> int:
    from lcpipe.train.tools.calibration import write_diagram
    from lcpipe.train.tools.evaluation import evaluate, write_dump
    from lcpipe.train.tools.networks import is_lc0_file, load_network, trainer_for

    if args.dump and not args.dump.endswith((".npz", ".jsonl")):
        return _err(f"--dump {args.dump}: name a .npz or .jsonl file", EXIT_USAGE)
    spec = _load(args)
    snapshot = load_network(args.network, args.step, args.kind)
    if is_lc0_file(args.network) and snapshot.input_format != spec.settings["input_format"]:
        print(
            f"warning: {args.network} takes input format {snapshot.input_format}, the spec's data is "
            f"format {spec.settings['input_format']} (train.jax input_format): the planes mean other things",
            file=sys.stderr,
        )
    count = args.batches or _default_batches(spec.settings, args.data)
    batches = _batches(spec, args.data, count, args)
    _status(f"evaluating step {snapshot.step} on {len(batches)} batches")
    trainer = trainer_for(spec.settings, snapshot)
    result = evaluate(trainer, batches, args.dump_positions if args.dump else 0)
    if args.reliability_png:
        write_diagram(result.calibration, args.reliability_png)
    if args.dump:
        write_dump(result.dump, args.dump)
    if args.json:
        print(
            json.dumps(
                {"step": result.step, "positions": result.positions, "metrics": result.metrics}, indent=2
            )
        )
        return EXIT_OK
    print(f"{args.network}: step {result.step}, {result.positions} positions of the {args.data!r} data")
    width = max(len(k) for k in result.metrics)
    for key in sorted(result.metrics):
        print(f"  {key:<{width}}  {result.metrics[key]:.5f}")
    for curve in result.calibration:
        print(f"value calibration, {curve.head} head (predicted -> target score, positions):")
        for i, n in enumerate(curve.counts):
            if n:
                print(
                    f"  [{i / len(curve.counts):.1f}, {(i + 1) / len(curve.counts):.1f})  "
                    f"{curve.predicted[i]:.3f} -> {curve.actual[i]:.3f}  ({n})"
                )
    for path in (args.reliability_png, args.dump):
        if path:
            print(f"wrote {path}")
    return EXIT_OK


# -- describe -------------------------------------------------------------------------
def cmd_describe(args) -> int:
    return _run(_describe, args)


def _describe(args) -> int:
    from lcpipe.train.tools.checkpoint_text import report_json, report_text
    from lcpipe.train.tools.inspect_checkpoint import read_report

    settings = None
    if args.spec:
        from lcpipe.train.tools.spec_source import load_train_spec

        settings = load_train_spec(args.spec, args.stage).settings
    if not args.json:
        _status(f"reading {args.checkpoint}")
    report = read_report(args.checkpoint, args.step, settings)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(report_text(report, args.depth, args.params, settings))
    return EXIT_OK


# -- migrate --------------------------------------------------------------------------
def _by_module(paths: list[str]) -> str:
    """'module (n)' per parameter group: kind:body/block_0/conv1/... -> body/block_0."""
    counts: dict[str, int] = {}
    for path in paths:
        name = path.split(":", 1)[-1].split(" ")[0]
        key = "/".join(name.split("/")[:2])
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} ({n})" for k, n in counts.items()) or "-"


def cmd_migrate(args) -> int:
    return _run(_migrate, args)


def _migrate(args) -> int:
    from lcpipe.train.tools.initialize import continue_lines
    from lcpipe.train.tools.migrate import migrate

    spec = _load(args)
    _status(f"migrating {args.checkpoint} to the spec's model")
    m = migrate(spec.settings, args.checkpoint, args.out, args.step, args.seed)
    print(f"wrote {args.out}: step {m.step}, the spec's model and optimizer (a fresh optimizer state)")
    for title, paths in (
        ("kept", m.kept),
        ("resized (overlap copied)", m.resized),
        ("re-initialised", m.reinitialised),
        ("dropped", m.dropped),
    ):
        print(f"{title}: {len(paths)} arrays: {_by_module(paths)}")
        if args.list:
            for path in paths:
                print(f"    {path}")
    if m.identity_blocks:
        exact = (
            "the identity: the network computes what it did"
            if m.model["activation"] == "relu"
            else ("its activation of the input (the identity only with relu)")
        )
        print(f"new residual blocks start as {exact}: {', '.join(m.identity_blocks)}")
    print(continue_lines(spec.stage, args.out, m.model))
    return EXIT_OK


# -- backfill -------------------------------------------------------------------------
def cmd_backfill(args) -> int:
    return _run(_backfill, args)


def _backfill(args) -> int:
    from lcpipe.train.tools.backfill import checkpoint_steps, evaluate_steps, write_to_sinks
    from lcpipe.train.tools.progress import Progress

    try:
        wanted = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        return _err(f"--steps {args.steps!r}: expected comma-separated step numbers", EXIT_USAGE)
    spec = _load(args)
    steps = checkpoint_steps(args.checkpoints, wanted)
    count = args.batches or _default_batches(spec.settings, args.data)
    batches = _batches(spec, args.data, count, args)
    progress = Progress()
    records = evaluate_steps(
        spec,
        args.checkpoints,
        steps,
        batches,
        args.data,
        lambda i, n, step: progress.update(i, n, "checkpoints evaluated", f"step {step}"),
    )
    progress.done()
    sinks = write_to_sinks(spec, records)
    for step, values in records:
        print(f"step {step}: {args.data}/loss={values[f'{args.data}/loss']:.4f}")
    print(f"wrote the metrics of {len(records)} checkpoints to {', '.join(sinks)}")
    return EXIT_OK


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
