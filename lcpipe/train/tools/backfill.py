"""`lcpipe train backfill`: older checkpoints evaluated on the spec's data, their metrics
written by the spec's own sink stages (JSON lines, TensorBoard) at each checkpoint's step,
under the names the live trainer uses (``test/loss``, ...); the averages the checkpoints hold for
the spec's train.swa / train.ema stages under ``test_<stage>/loss``, ...."""

from __future__ import annotations

import os

from lcpipe.train.tools.errors import ToolError, usage_error
from lcpipe.train.tools.networks import load_network
from lcpipe.train.tools.spec_source import TrainSpec

# sinks that keep what they are given; the console and Prometheus only show the present
RECORDING_SINKS = ("sink.jsonl", "sink.tensorboard")
AVERAGE_STAGES = ("train.swa", "train.ema")


def checkpoint_steps(directory: str, wanted: list[int] | None) -> list[int]:
    if not os.path.isdir(directory):
        raise ToolError(f"{directory}: not a checkpoint directory")
    steps = sorted(int(d) for d in os.listdir(directory) if d.isdigit())
    if not steps:
        raise ToolError(f"{directory}: no checkpoint in this directory")
    if wanted:
        missing = sorted(set(wanted) - set(steps))
        if missing:
            raise usage_error(f"{directory} holds no step {missing} (steps: {steps})")
        steps = sorted(set(wanted))
    return steps


def evaluate_steps(spec: TrainSpec, directory: str, steps: list[int], batches: list, port: str, on_step=None):
    """[(step, {"<port>/<metric>": value})] for each checkpoint step, raw weights and the
    averages the settings enable (as the live train.jax stage names them)."""
    from lcpipe.train.tools.networks import trainer_for

    records = []
    trainer, model = None, None
    for i, step in enumerate(steps):
        snap = load_network(directory, step)
        if trainer is None or dict(snap.model) != model:
            trainer, model = trainer_for(spec.settings, snap), dict(snap.model)
        else:  # the same model: the compiled evaluation is reused
            trainer.init_from_variables(snap.params, step=step)
        values = {f"{port}/{k}": v for k, v in trainer.evaluate(batches).items()}
        graph = spec.pipeline.graph
        for name in sorted(n for n in graph.nodes if graph.nodes[n]["use"] in AVERAGE_STAGES):
            try:
                average = load_network(directory, step, name)
            except ToolError:
                continue  # written before the average was in the pipeline
            trainer.init_from_variables(average.params, step=step)
            values.update({f"{port}_{name}/{k}": v for k, v in trainer.evaluate(batches).items()})
        records.append((step, values))
        if on_step is not None:
            on_step(i + 1, len(steps), step)
    return records


def write_to_sinks(spec: TrainSpec, records: list) -> list[str]:
    """Run the spec's recording sinks over the records, published beforehand on their bus as
    the train stage's metrics (a sink replays the bus's past events when it subscribes)."""
    from lcpipe.compiler.compile import Pipeline
    from lcpipe.compiler.plan import plan_pipeline
    from lcpipe.runtime.bus import EventBus
    from lcpipe.runtime.runner import Runtime

    full = spec.pipeline.graph
    sinks = [n for n in full.nodes if full.nodes[n]["use"] in RECORDING_SINKS]
    if not sinks:
        raise usage_error(f"the spec has no {' or '.join(RECORDING_SINKS)} stage to write the metrics to")
    bus = EventBus(history=max(20000, 2 * len(records)))
    for step, values in records:
        bus.publish("metrics", spec.stage, {"values": values, "step": step})
    sub = Pipeline(spec.pipeline.name, spec.pipeline.doc, full.subgraph(sinks).copy(), spec.pipeline.registry)
    result = Runtime(plan_pipeline(sub), bus=bus).run(install_signals=False)
    if result.failures:
        stage, message = result.failures[0]
        raise ToolError(f"sink {stage!r} failed: {message}")
    return sinks
