"""Declarations of the built-in metric sinks (observers of the event bus)."""

from __future__ import annotations

from lcpipe.plugin import StageType, hookimpl, settings

_FILTER = {
    "type": "array", "items": {"type": "string"}, "default": ["*"],
    "description": "Glob patterns over 'stage/metric' names; only matching metrics are written.",
}


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="sink.console",
            factory="lcpipe.stages.console_sink:ConsoleSink",
            description="Prints a short summary of the run at a fixed interval: one line per stage (state, rates, "
                        "its main metrics) and a progress line per trainer.",
            schema=settings({
                "interval": {"type": "number", "exclusiveMinimum": 0, "default": 10.0,
                             "description": "Seconds between two reports."},
                "include": {**_FILTER, "default": [],
                            "description": "Glob patterns over 'stage/metric' names shown beside each stage's "
                                           "summary ('*': every metric)."},
                "stream": {"enum": ["stdout", "stderr"], "default": "stderr",
                           "description": "Where to print."},
            }),
        ),
        StageType(
            name="sink.jsonl",
            factory="lcpipe.stages.jsonl_sink:JsonlSink",
            description="Appends every metrics event (and optionally state/log events) to a JSON-lines file.",
            schema=settings({
                "path": {"type": "string", "default": "runs/metrics.jsonl",
                         "description": "File to append to (directories are created)."},
                "include": _FILTER,
                "events": {"type": "array", "items": {"enum": ["metrics", "state", "log", "pipeline"]},
                           "default": ["metrics", "state", "pipeline"],
                           "description": "Which kinds of bus events to record."},
                "flush_every": {"type": "number", "minimum": 0, "default": 1.0,
                                "description": "Seconds between flushes to disk (0: after every line)."},
            }),
        ),
        StageType(
            name="sink.tensorboard",
            factory="lcpipe.stages.tensorboard_sink:TensorboardSink",
            description="Writes every numeric metric as a TensorBoard scalar 'stage/metric' "
                        "(one events file per run; no TensorFlow needed).",
            schema=settings({
                "dir": {"type": "string", "default": "runs/tb",
                        "description": "Directory of the events file (relative to the run's workdir; created)."},
                "include": _FILTER,
                "flush_every": {"type": "number", "exclusiveMinimum": 0, "default": 5.0,
                                "description": "Seconds between flushes to disk (TensorBoard sees data then)."},
            }),
        ),
        StageType(
            name="sink.prometheus",
            factory="lcpipe.stages.prometheus_sink:PrometheusSink",
            description="Serves the newest metrics over HTTP in the Prometheus text format (/metrics).",
            schema=settings({
                "port": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 9464,
                         "description": "TCP port to listen on; 0 picks a free one (logged at start)."},
                "host": {"type": "string", "default": "127.0.0.1",
                         "description": "Address to listen on; the default serves this machine only."},
                "include": _FILTER,
            }),
        ),
    ]
