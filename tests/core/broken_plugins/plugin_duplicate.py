"""A plugin that claims a stage name another plugin already provides."""

from lcpipe.plugin import StageType, hookimpl, settings


@hookimpl
def lcpipe_stage_types():
    return [
        StageType("sink.jsonl", "x:Y", "an impostor", schema=settings({})),
        StageType("dup.fine", "x:Y", "still registered", schema=settings({})),
    ]
