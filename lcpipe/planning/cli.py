"""``lcpipe plan SPEC``: memory of every loader buffer and of the trainer's state, and with a short
calibration run the training speed on this machine."""

from __future__ import annotations

import sys

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.planning.disk import DiskRate, TrainerSpeed, disk_rates
from lcpipe.plugin import hookimpl


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan",
        help="estimate what a spec needs: loader memory, trainer state, speed on this machine",
        description="Without running the pipeline: the host memory of its loader pools, caches, reservoirs "
        "and batch queues from their settings and the record sizes, and the device memory of each train.jax "
        "stage's state (parameters, optimizer, SWA/EMA) from the model's shapes. Unless --no-calibrate, a "
        "short real training run (compile plus --calibrate-steps steps on synthetic games at the spec's batch "
        "size) measures steps/s and positions/s, and each self-play stage plays --selfplay-seconds with a network "
        "of the trainer's model; from these rates and the sizes the real writers produce, the disk per hour of "
        "games, networks and checkpoints and the training data read per hour. It takes the compile times "
        "plus a few seconds per stage.",
    )
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--no-calibrate", action="store_true", help="only the static estimate")
    p.add_argument("--calibrate-steps", type=int, default=10, help="timed steps after compiling (default 10)")
    p.add_argument(
        "--selfplay-seconds",
        type=float,
        default=10.0,
        help="seconds of timed self-play per self-play stage, after its network compiled (default 10)",
    )
    p.set_defaults(handler=cmd_plan)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def train_batch_size(pipeline, stage: str) -> int | None:
    """The batch size of what feeds a trainer's train input."""
    for link in pipeline.links():
        if link.dst == stage and link.dst_port == "train":
            size = pipeline.graph.nodes[link.src]["config"].get("batch_size")
            return int(size) if size else None
    return None


def cmd_plan(args) -> int:
    from lcpipe.compiler import compile_file
    from lcpipe.planning.loader_memory import loader_estimates
    from lcpipe.registry import load_registry
    from lcpipe.spec.errors import SpecErrors

    if args.calibrate_steps < 1:
        print("lcpipe plan: --calibrate-steps must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        pipeline = compile_file(args.spec, args.set, load_registry())
    except SpecErrors as exc:
        for error in exc.errors:
            print(error.format(), file=sys.stderr)
        return EXIT_USAGE
    nodes = pipeline.graph.nodes
    host = [e for name in nodes for e in loader_estimates(name, nodes[name]["use"], nodes[name]["config"])]
    print(f"plan of {args.spec} (pipeline {pipeline.name!r})")
    if host:
        print("host memory, loader:")
        for e in host:
            print(f"  {e.stage:<16} {_mib(e.bytes):>14}{' at most' if e.bound else '        '}  {e.what}")
        steady = sum(e.bytes for e in host if not e.bound)
        print(f"  {'total':<16} {_mib(steady):>14}          fixed buffers")
        print(
            f"  {'':<16} {_mib(steady + sum(e.bytes for e in host if e.bound)):>14} at most  with full queues, caches and windows"
        )
    trainers = [n for n in nodes if nodes[n]["use"] == "train.jax"]
    speeds: dict[str, TrainerSpeed] = {}
    for name in trainers:
        speed = _plan_trainer(pipeline, name, args)
        if speed is None:
            return EXIT_FAILED
        speeds[name] = speed
    rates = disk_rates(pipeline, speeds, None if args.no_calibrate else args.selfplay_seconds)
    if rates:
        _print_disk(rates, args.no_calibrate)
    if not host and not trainers:
        print("  no loader or train.jax stage: nothing to estimate")
    return EXIT_OK


def _print_disk(rates: list[DiskRate], static: bool) -> None:
    if static:
        print("disk per hour (sizes only: --no-calibrate measures no rate):")
    else:  # self-play and training share the machine in a run; max_steps_per_game paces the trainer
        print("disk per hour (each stage's rate alone: a trainer paced by self-play writes less):")
    for r in rates:
        per_hour = "" if r.bytes_per_hour is None else f"{_mib(r.bytes_per_hour)}/h"
        kept = f", at most {_mib(r.at_most)} kept" if r.at_most is not None else ""
        print(f"  {r.stage:<16} {per_hour:>16}  {r.what}{kept}")


def _plan_trainer(pipeline, name: str, args) -> TrainerSpeed | None:
    """Prints the trainer's memory and, calibrated, its speed; None when it cannot be estimated."""
    from lcpipe.planning.trainer_memory import plan_trainer

    settings = pipeline.graph.nodes[name]["config"]
    batch = train_batch_size(pipeline, name)
    if batch is None:
        print(f"  {name}: its train input has no batch_size setting: not estimated")
        return TrainerSpeed(name, settings, 0, 0, None)
    try:
        graph = pipeline.graph
        averages = tuple(
            n for n in graph.successors(name) if graph.nodes[n]["use"] in ("train.swa", "train.ema")
        )
        plan = plan_trainer(settings, batch, averages)
    except ValueError as exc:
        print(f"lcpipe plan: {name}: {exc}", file=sys.stderr)
        return None
    speed = TrainerSpeed(name, settings, batch, sum(plan.state_bytes.values()), None)
    print(f"device memory, {name} ({plan.parameters:,} parameters, batch {batch}):")
    for part, size in sorted(plan.state_bytes.items(), key=lambda kv: -kv[1]):
        if size >= 1024:
            print(f"  {part:<16} {_mib(size):>14}")
    print(f"  {'one batch':<16} {_mib(plan.batch_bytes):>14}")
    print(f"  {'total':<16} {_mib(plan.total):>14}  (the step's activations come on top: see calibration)")
    if args.no_calibrate:
        return speed
    from lcpipe.planning.calibrate import calibrate

    print(f"calibrating {name}: compiling the step, then {args.calibrate_steps} steps ...", file=sys.stderr)
    cal = calibrate(settings, batch, args.calibrate_steps)
    print(
        f"speed, {name} on this machine: {cal.steps_per_s:.2f} steps/s, {cal.positions_per_s:,.0f} positions/s "
        f"(compile {cal.compile_s:.1f} s; state measured {_mib(cal.state_bytes)})"
    )
    if cal.step_temp_bytes is not None:
        print(f"  step working memory (activations, XLA): {_mib(cal.step_temp_bytes)}")
    speed.steps_per_s = cal.steps_per_s
    return speed


@hookimpl
def lcpipe_cli_commands(subparsers) -> None:
    """The built-in commands come in through the plugin hook, like a third-party plugin's."""
    register(subparsers)
