"""Command-line options made from a stage type's settings schema.

A tool command that runs a stage's code (``lcpipe data rescore`` runs
``loader.rescore``) offers that stage's settings as options without
declaring them a second time: ``policy_temperature`` becomes
``--policy-temperature``, booleans get ``--x/--no-x``, arrays of strings are
repeated options. An option not given stays unset, so the declaration's
default (or a spec's value) applies; ``normalize`` validates the result.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

_PARSERS = {"number": float, "integer": int, "string": str}


def option_name(setting: str) -> str:
    return "--" + setting.replace("_", "-")


def add_setting_options(
    parser: argparse.ArgumentParser, schema: Mapping[str, Any], skip: Iterable[str] = ()
) -> list[str]:
    """An option per scalar or string-array setting of ``schema`` (a settings object schema);
    returns the settings that got one."""
    added = []
    group = parser.add_argument_group("stage settings (defaults from the stage's declaration)")
    for name, prop in schema.get("properties", {}).items():
        if name in skip:
            continue
        kind = prop.get("type")
        help_text = (prop.get("description") or "").replace("%", "%%")
        if "default" in prop and kind != "array":
            help_text += f" (default {prop['default']!r})"
        dest = f"setting__{name}"
        if kind == "boolean":
            group.add_argument(
                option_name(name),
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif kind in _PARSERS:
            group.add_argument(
                option_name(name),
                dest=dest,
                type=_PARSERS[kind],
                choices=prop.get("enum"),
                default=None,
                metavar=name.upper(),
                help=help_text,
            )
        elif kind == "array" and (prop.get("items") or {}).get("type") in _PARSERS:
            group.add_argument(
                option_name(name),
                dest=dest,
                type=_PARSERS[prop["items"]["type"]],
                action="append",
                default=None,
                metavar=name.upper().rstrip("S"),
                help=help_text + " (repeat the option for several)",
            )
        else:
            continue  # nested groups and mappings come from a spec only
        added.append(name)
    return added


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as options (those left out are absent)."""
    prefix = "setting__"
    return {k[len(prefix) :]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}
