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
            description="Prints the latest metrics of every stage to the terminal at a fixed interval.",
            schema=settings({
                "interval": {"type": "number", "exclusiveMinimum": 0, "default": 10.0,
                             "description": "Seconds between two reports."},
                "include": _FILTER,
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
    ]
