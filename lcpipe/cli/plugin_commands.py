"""Commands added by plugins (hook ``lcpipe_cli_commands``), each call guarded.

A plugin whose hook raises anything, or that asks for a command name already
taken (a built-in such as ``run``, or another plugin's), is reported and the
command line keeps working: the first owner of a name keeps it.
"""

from __future__ import annotations

import argparse
import sys


class _GuardedSubparsers:
    """The subparsers object a plugin sees: refuses names already taken."""

    def __init__(self, sub, plugin: str, problems: list[str]):
        self._sub = sub
        self._plugin = plugin
        self._problems = problems

    def add_parser(self, name: str, **kwargs):
        names = [name, *kwargs.get("aliases", ())]
        taken = [n for n in names if n in self._sub.choices]
        if taken:
            self._problems.append(
                f"plugin {self._plugin!r}: command {taken[0]!r} is already taken; the existing one is kept"
            )
            return argparse.ArgumentParser(prog=f"lcpipe {name}", add_help=False)  # detached: never reached
        return self._sub.add_parser(name, **kwargs)

    def __getattr__(self, attr):
        return getattr(self._sub, attr)


def add_plugin_commands(sub) -> list[str]:
    """Let every plugin add its commands; returns the problems (also printed as warnings)."""
    from lcpipe.registry import load_registry

    problems: list[str] = []
    reg = load_registry()
    if reg.manager is not None:
        for impl in reg.manager.hook.lcpipe_cli_commands.get_hookimpls():
            try:
                impl.function(subparsers=_GuardedSubparsers(sub, impl.plugin_name, problems))
            except BaseException as exc:  # SystemExit, KeyboardInterrupt included: the plugin is broken
                problems.append(
                    f"plugin {impl.plugin_name!r}: lcpipe_cli_commands raised {type(exc).__name__}: {exc}"
                )
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return problems
