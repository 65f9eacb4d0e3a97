"""A plugin whose stage declares an invalid settings schema."""

from lcpipe.plugin import StageType, hookimpl


@hookimpl
def lcpipe_stage_types():
    return [StageType("bad.schema", "x:Y", "broken", schema={"type": "objekt"})]
