"""Every hook a plugin may implement, one docstring each.

A plugin is a module (or package) with functions marked ``@lcpipe.plugin.hookimpl``.
Third-party packages expose it through the entry-point group ``lcpipe``.
"""

from __future__ import annotations

from lcpipe.plugin import hookspec


@hookspec
def lcpipe_stage_types():
    """Return a list of ``StageType`` declarations this plugin provides."""


@hookspec
def lcpipe_cli_commands(subparsers):
    """Add subcommands to the ``lcpipe`` command line (an argparse subparsers object)."""
