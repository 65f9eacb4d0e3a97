"""Loads plugins (built-in and third-party) and collects their stage types.

Built-in stages register through the same hooks as third-party ones; they are
simply listed in ``BUILTIN_PLUGINS``. A broken plugin (import error, bad
schema, a stage name taken twice) is reported by name and left out; the
others keep working.

Environment variables:
- ``LCPIPE_LOAD_PLUGINS``: comma-separated entry-point names to load (empty:
  none); unset loads all installed plugins.
- ``LCPIPE_TRACE_PLUGINS=1``: print every hook call to stderr.
- ``LCPIPE_EXTRA_PLUGINS``: comma-separated module names to load as plugins
  without installing them (handy while writing a plugin, and in tests).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

import jsonschema
import pluggy

from lcpipe import hookspecs
from lcpipe.plugin import PROJECT, StageType
from lcpipe.types import PORT_TYPES

BUILTIN_PLUGINS = (
    "lcpipe.sink.stages",
    "lcpipe.data.stages",
    "lcpipe.loader.stages",
    "lcpipe.train.stages",
    "lcpipe.export.stages",
    "lcpipe.selfplay.stages",
    "lcpipe.eval.stages",
)

# Modules whose lcpipe_cli_commands hook adds the built-in commands (in --help order).
BUILTIN_CLIS = (
    "lcpipe.cli.commands",
    "lcpipe.lc0.cli",
    "lcpipe.nets.cli",
    "lcpipe.train.cli",
    "lcpipe.daemon.cli",
    "lcpipe.arena.cli",
    "lcpipe.planning.cli",
)

ENTRY_POINT_GROUP = "lcpipe"


@dataclass
class PluginProblem:
    plugin: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.message}"


@dataclass
class Registry:
    stage_types: dict[str, StageType] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    def get(self, name: str) -> StageType | None:
        return self.stage_types.get(name)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("LCPIPE_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return pm


def builtin_cli_manager() -> pluggy.PluginManager:
    """A plugin manager holding the built-in command modules only (no third-party import)."""
    pm = _new_manager()
    for name in reversed(BUILTIN_CLIS):  # pluggy calls the last registered first
        pm.register(importlib.import_module(name), name=name)
    return pm


def _register_module(
    pm: pluggy.PluginManager, label: str, module: Any, problems: list[PluginProblem]
) -> bool:
    try:
        pm.register(module, name=label)
        pm.check_pending()
    except Exception as exc:  # misspelled hook, bad signature, ...
        if pm.is_registered(module):
            pm.unregister(module)
        problems.append(PluginProblem(label, f"cannot be registered: {exc}"))
        return False
    return True


def _check_stage(st: Any, label: str) -> str | None:
    """Why a declaration is unusable, or None."""
    if not isinstance(st, StageType):
        return f"returned {type(st).__name__} instead of lcpipe.plugin.StageType"
    if ":" not in st.factory:
        return f"stage {st.name!r}: factory must be 'module:Class', got {st.factory!r}"
    try:
        jsonschema.Draft202012Validator.check_schema(st.schema)
    except jsonschema.SchemaError as exc:
        return f"stage {st.name!r}: its settings schema is invalid: {exc.message}"
    for port in (*st.inputs, *st.outputs):
        if port.type not in PORT_TYPES and "/" not in port.type:
            return (
                f"stage {st.name!r}: port {port.name!r} has unknown type {port.type!r} "
                f"(known: {', '.join(sorted(PORT_TYPES))}; custom types are 'plugin/name')"
            )
    return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return f"raised {type(exc).__name__}({exc})"
    return str(exc)


_CACHE: dict[tuple, Registry] = {}


def builtin_registry() -> Registry:
    """The built-in stage types only, whatever is installed or named in the environment
    (what the repository's generated schemas and docs/stages.md describe)."""
    return load_registry(include_entry_points=False, env_extras=False)


def load_registry(
    include_entry_points: bool = True, extra: tuple[Any, ...] = (), env_extras: bool = True
) -> Registry:
    """Load built-in and installed plugins (and LCPIPE_EXTRA_PLUGINS unless ``env_extras`` is
    false); cached per argument set."""
    extras_env = os.environ.get("LCPIPE_EXTRA_PLUGINS", "") if env_extras else ""
    key = (include_entry_points, extra, os.environ.get("LCPIPE_LOAD_PLUGINS"), extras_env)
    if key in _CACHE:
        return _CACHE[key]
    pm = _new_manager()
    reg = Registry(manager=pm)
    modules: list[tuple[str, Any]] = []
    for modname in BUILTIN_PLUGINS:
        try:
            modules.append((modname, importlib.import_module(modname)))
        except ModuleNotFoundError as exc:
            if exc.name and modname.startswith(exc.name):
                continue  # area not built in this checkout
            reg.problems.append(PluginProblem(modname, f"failed to import: {exc}"))
        except Exception as exc:
            reg.problems.append(PluginProblem(modname, f"failed to import: {exc}"))
    if include_entry_points:
        wanted = os.environ.get("LCPIPE_LOAD_PLUGINS")
        allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allowed is not None and ep.name not in allowed:
                continue
            try:
                modules.append((ep.name, ep.load()))
            except BaseException as exc:  # sys.exit() or KeyboardInterrupt at import: a broken plugin too
                reg.problems.append(PluginProblem(ep.name, f"failed to import ({ep.value}): {_why(exc)}"))
    for modname in filter(None, (m.strip() for m in extras_env.split(","))):
        try:
            modules.append((modname, importlib.import_module(modname)))
        except BaseException as exc:
            reg.problems.append(PluginProblem(modname, f"failed to import: {_why(exc)}"))
    for i, module in enumerate(extra):
        modules.append((getattr(module, "__name__", f"extra{i}"), module))

    for label, module in modules:
        if not _register_module(pm, label, module, reg.problems):
            continue
        reg.plugins.append(label)
        impl = getattr(module, "lcpipe_stage_types", None)
        if impl is None:
            continue
        try:
            declared = list(impl() or [])
        except BaseException as exc:
            reg.problems.append(PluginProblem(label, f"lcpipe_stage_types() raised {exc!r}"))
            continue
        for st in declared:
            why = _check_stage(st, label)
            if why:
                reg.problems.append(PluginProblem(label, why))
                continue
            if st.name in reg.stage_types:
                other = reg.stage_types[st.name].plugin
                reg.problems.append(
                    PluginProblem(
                        label,
                        f"stage {st.name!r} is already provided by plugin {other!r}; this one is ignored",
                    )
                )
                continue
            reg.stage_types[st.name] = replace(st, plugin=label)
    _CACHE[key] = reg
    return reg


def clear_cache() -> None:
    _CACHE.clear()


def load_factory(st: StageType) -> Any:
    return _load_object(st.factory)


def load_prepare(st: StageType) -> Any | None:
    """The stage type's `prepare` function, or None when it declares none."""
    return _load_object(st.prepare) if st.prepare else None


def _load_object(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)
