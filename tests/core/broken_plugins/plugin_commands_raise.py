"""A plugin whose lcpipe_cli_commands raises."""

from lcpipe.plugin import hookimpl


@hookimpl
def lcpipe_cli_commands(subparsers):
    raise SystemExit("plugin_commands_raise gives up")
