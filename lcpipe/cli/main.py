"""The ``lcpipe`` command line: parses arguments and hands over.

Exit codes: 0 ok, 1 runtime failure, 2 usage or spec error (130/143 when
interrupted by SIGINT/SIGTERM). Errors go to stderr, never as a traceback for
a user mistake (``--debug`` shows one for bugs).
"""

from __future__ import annotations

import argparse
import signal
import sys

from lcpipe import __version__
from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    builtin_commands: set[str] = set()  # the top-level commands lcpipe itself provides

    def error(self, message: str):  # usage errors: exit 2 with a short message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class Terminated(BaseException):
    """SIGTERM before the runtime took over the signal: stop where we are, in order (finally blocks run)."""


def _install_signals() -> None:
    """From the first moment: Ctrl-C and SIGTERM end the process quietly (130/143), never with a
    traceback; the runtime installs its own orderly-stop handlers while a pipeline runs."""

    def on_term(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)


def build_parser(plugin_commands: bool = True) -> _Parser:
    """The command line; ``plugin_commands`` False leaves third-party plugins unimported."""
    from lcpipe.registry import builtin_cli_manager

    parser = _Parser(
        prog="lcpipe", description="Declarative training pipelines for Leela Chess Zero networks."
    )
    parser.add_argument("--version", action="version", version=f"lcpipe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    builtin_cli_manager().hook.lcpipe_cli_commands(subparsers=sub)
    parser.builtin_commands = set(sub.choices)
    if plugin_commands:
        from lcpipe.cli.plugin_commands import add_plugin_commands

        add_plugin_commands(sub)
    return parser


def _parser_for(argv: list[str]) -> _Parser:
    """Built-in commands, --help and --version never import third-party plugins (a broken or
    hanging one cannot take them down); only a command no built-in provides loads them."""
    parser = build_parser(plugin_commands=False)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None or command in parser.builtin_commands:
        return parser
    return build_parser(plugin_commands=True)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        _install_signals()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143


def _main(argv: list[str]) -> int:
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a file that cannot be written or read: the user's to fix, not a bug
        if getattr(args, "debug", False):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"lcpipe: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(
            f"lcpipe: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
