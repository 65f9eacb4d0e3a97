"""Declarations of the built-in metric sinks (observers of the event bus)."""

from __future__ import annotations

from lcpipe.plugin import StageType, field, hookimpl, settings

_FILTER = field(
    "array",
    ["*"],
    "Glob patterns over 'stage/metric' names; only matching metrics are written.",
    items=field("string", min_length=1),
    max_items=1000,
)

CONSOLE = {
    "interval": field(
        "number", 10.0, "Seconds between two reports.", exclusive_minimum=0, maximum=86_400, unit="s"
    ),
    "include": field(
        "array",
        [],
        "Glob patterns over 'stage/metric' names shown beside each stage's summary ('*': every metric).",
        items=field("string", min_length=1),
        max_items=1000,
    ),
    "stream": field("string", "stderr", "Where to print.", enum=["stdout", "stderr"]),
}
JSONL = {
    "path": field(
        "string", "runs/metrics.jsonl", "File to append to (directories are created).", min_length=1
    ),
    "include": _FILTER,
    "events": field(
        "array",
        ["metrics", "state", "pipeline"],
        "Which kinds of bus events to record.",
        items=field("string", enum=["metrics", "state", "log", "pipeline"]),
        unique=True,
    ),
    "flush_every": field(
        "number",
        1.0,
        "Seconds between flushes to disk (0: after every line).",
        minimum=0,
        maximum=86_400,
        unit="s",
    ),
}
TENSORBOARD = {
    "dir": field(
        "string",
        "runs/tb",
        "Directory of the events file (relative to the run's workdir; created).",
        min_length=1,
    ),
    "include": _FILTER,
    "flush_every": field(
        "number",
        5.0,
        "Seconds between flushes to disk (TensorBoard sees data then).",
        exclusive_minimum=0,
        maximum=86_400,
        unit="s",
    ),
}
PROMETHEUS = {
    "port": field(
        "integer",
        9464,
        "TCP port to listen on; 0 picks a free one (logged at start).",
        minimum=0,
        maximum=65535,
    ),
    "host": field(
        "string", "127.0.0.1", "Address to listen on; the default serves this machine only.", min_length=1
    ),
    "include": _FILTER,
}


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="sink.console",
            factory="lcpipe.sink.console:ConsoleSink",
            description="Prints a short summary of the run at a fixed interval: one line per stage (state, rates, "
            "its main metrics) and a progress line per trainer.",
            schema=settings(CONSOLE),
        ),
        StageType(
            name="sink.jsonl",
            factory="lcpipe.sink.jsonl:JsonlSink",
            description="Appends every metrics event (and optionally state/log events) to a JSON-lines file.",
            schema=settings(JSONL),
        ),
        StageType(
            name="sink.tensorboard",
            factory="lcpipe.sink.tensorboard:TensorboardSink",
            description="Writes every numeric metric as a TensorBoard scalar 'stage/metric' "
            "(one events file per run; no TensorFlow needed).",
            schema=settings(TENSORBOARD),
        ),
        StageType(
            name="sink.prometheus",
            factory="lcpipe.sink.prometheus:PrometheusSink",
            description="Serves the newest metrics over HTTP in the Prometheus text format (/metrics).",
            schema=settings(PROMETHEUS),
        ),
    ]
