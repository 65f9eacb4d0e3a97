"""The ``lcpipe`` command line: parses arguments and hands over.

Exit codes: 0 ok, 1 runtime failure, 2 usage or spec error (130/143 when
interrupted by SIGINT/SIGTERM). Errors go to stderr, never as a traceback for
a user mistake (``--debug`` shows one for bugs).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lcpipe import __version__

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_USAGE

# Areas that add their own command groups (data, net, ...); each has register(subparsers).
AREA_CLIS = ("lcpipe.lc0.cli", "lcpipe.nets.cli", "lcpipe.train.cli", "lcpipe.loader.cli", "lcpipe.selfplay.cli",
             "lcpipe.daemon.cli", "lcpipe.arena.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: exit 2 with a short message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from lcpipe.cli import commands

    parser = _Parser(prog="lcpipe", description="Declarative training pipelines for Leela Chess Zero networks.")
    parser.add_argument("--version", action="version", version=f"lcpipe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.register(sub)
    for modname in AREA_CLIS:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        module.register(sub)
    from lcpipe.registry import load_registry

    reg = load_registry()
    if reg.manager is not None:
        reg.manager.hook.lcpipe_cli_commands(subparsers=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
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
        print(f"lcpipe: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
