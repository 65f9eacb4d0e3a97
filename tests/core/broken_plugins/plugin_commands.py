"""CLI commands: one name already taken by a built-in ('run'), one new ('hello')."""

from lcpipe.plugin import hookimpl


def _hello(args):
    print("hello from a plugin")
    return 0


@hookimpl
def lcpipe_cli_commands(subparsers):
    subparsers.add_parser("run", help="an impostor").set_defaults(handler=lambda args: 99)
    subparsers.add_parser("hello", help="greets").set_defaults(handler=_hello)
