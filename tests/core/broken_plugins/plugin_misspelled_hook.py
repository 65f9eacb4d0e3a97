"""A plugin with a misspelled hook implementation: caught at load time."""

from lcpipe.plugin import hookimpl


@hookimpl
def lcpipe_stage_typez():
    return []
