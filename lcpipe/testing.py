"""A small testing kit for stage and plugin authors.

Two entry points, both running the real compiler and runtime in-process:

- ``run_spec(spec)``: a whole pipeline (YAML text, a path or a mapping);
  returns its exit code, item counts, metrics and log lines.
- ``run_stage(stage_type, settings, inputs={port: items})``: one stage type,
  fed the given items on its input ports; returns what it put on each output
  port, with its metrics. Feeding and collecting is done by stages of this
  module ("testing.feed_<type>", "testing.collect_<type>") wired to the stage
  like any other, so the stage sees real channels, back-pressure and ends.

    from lcpipe.testing import run_stage

    def test_my_stage():
        out = run_stage("my.stage", {"every": 2}, inputs={"batches": batches}, plugins=(my_plugin,))
        assert out.exit_code == 0
        assert len(out.outputs["batches"]) == len(batches)

Documented in docs/plugins.md ("Testing a plugin").
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lcpipe.plugin import EdgeKind, Port, StageType, hookimpl, settings
from lcpipe.runtime.stage import Stage
from lcpipe.types import PORT_TYPES

__all__ = ["RunOutcome", "StageOutcome", "run_spec", "run_stage"]

# Items handed to feeders and taken from collectors, by run id: the settings
# of a spec are plain data, so the stages find their items here.
_FEEDS: dict[str, list[Any]] = {}
_COLLECTED: dict[str, list[Any]] = {}
_LOCK = threading.Lock()
_IDS = itertools.count()


@dataclass
class RunOutcome:
    """What a pipeline run gave: its exit, the items per output port and what stages reported."""

    exit_code: int
    reason: str
    failures: list[tuple[str, str]]
    counts: dict[str, int]
    metrics: dict[str, list[tuple[int | None, dict[str, float]]]] = field(default_factory=dict)
    logs: list[tuple[str, str, str]] = field(default_factory=list)  # (stage, level, message)

    def last_metrics(self, stage: str) -> dict[str, float]:
        """Every metric the stage reported, at its newest value."""
        merged: dict[str, float] = {}
        for _, values in self.metrics.get(stage, []):
            merged.update(values)
        return merged


@dataclass
class StageOutcome(RunOutcome):
    outputs: dict[str, list[Any]] = field(default_factory=dict)


def _suffix(port_type: str, kind: str) -> str:
    """The part of a feeder's or collector's stage name that names its port type and edge kind."""
    return port_type.replace("/", "__") + ("_latest" if kind == "latest" else "")


class Feed(Stage):
    """Puts the items registered under its ``feed`` id on its output, then ends."""

    def run(self) -> None:
        with _LOCK:
            items = _FEEDS.pop(self.config["feed"], [])
        out = self.ctx.output("items")
        for item in items:
            if not out.put(item):
                return


class Collect(Stage):
    """Keeps every item of its input under its ``collect`` id (on a latest input: each newer value seen)."""

    def run(self) -> None:
        key = self.config["collect"]
        for item in self.ctx.input("items"):
            with _LOCK:
                _COLLECTED.setdefault(key, []).append(item)


def _helper_types(port_types: Iterable[tuple[str, str]]) -> list[StageType]:
    """A feeder and a collector for each (port type, edge kind) asked for."""
    out = []
    for port_type, kind in sorted(set(port_types)):
        suffix = _suffix(port_type, kind)
        edge: EdgeKind = "latest" if kind == "latest" else "stream"
        out.append(
            StageType(
                name=f"testing.feed_{suffix}",
                factory="lcpipe.testing:Feed",
                description=f"Test feeder of {port_type} items.",
                outputs=(Port("items", port_type, kind=edge),),
                schema=settings(
                    {"feed": {"type": "string", "description": "id of the items to feed"}}, required=["feed"]
                ),
            )
        )
        out.append(
            StageType(
                name=f"testing.collect_{suffix}",
                factory="lcpipe.testing:Collect",
                description=f"Test collector of {port_type} items.",
                inputs=(Port("items", port_type, kind=edge),),
                schema=settings(
                    {"collect": {"type": "string", "description": "id the items are kept under"}},
                    required=["collect"],
                ),
            )
        )
    return out


class _HelperPlugin:
    """The feeder and collector stage types, registered like any plugin."""

    __name__ = "lcpipe.testing"

    def __init__(self, port_types: Iterable[tuple[str, str]]):
        self._types = _helper_types(port_types)

    @hookimpl
    def lcpipe_stage_types(self):
        return list(self._types)


def _registry(plugins: tuple[Any, ...]):
    from lcpipe.registry import load_registry

    return load_registry(extra=plugins)


def run_spec(
    spec: str | Path | Mapping[str, Any],
    *,
    plugins: tuple[Any, ...] = (),
    stop_after: Iterable[str] = (),
    overrides: Iterable[str] = (),
    grace: float = 30.0,
    workdir: str | Path | None = None,
) -> RunOutcome:
    """Compile and run a pipeline in this process until it ends (or a ``stop_after`` bound).

    ``spec``: a path to a YAML file, YAML text, or a mapping. ``plugins``:
    extra plugin modules (objects with hook implementations) to load beside
    the installed ones. Spec errors raise ``lcpipe.spec.errors.SpecErrors``.
    """
    return _run(spec, plugins, stop_after, overrides, grace, workdir)


def _run(spec, plugins, stop_after, overrides, grace, workdir, outcome_type=RunOutcome, **extra) -> Any:
    from lcpipe.compiler import compile_file, plan_pipeline
    from lcpipe.runtime.bus import EventBus
    from lcpipe.runtime.runner import Runtime, StopBound

    with tempfile.TemporaryDirectory(prefix="lcpipe-test-") as tmp:
        path = _spec_path(spec, Path(workdir or tmp))
        plan = plan_pipeline(compile_file(path, list(overrides), registry=_registry(tuple(plugins))))
        bus = EventBus()
        metrics: dict[str, list] = {}
        logs: list[tuple[str, str, str]] = []
        lock = threading.Lock()

        def record(event) -> None:
            with lock:
                if event.kind == "metrics":
                    metrics.setdefault(event.stage, []).append(
                        (event.data.get("step"), dict(event.data["values"]))
                    )
                elif event.kind == "log":
                    logs.append((event.stage, event.data.get("level", ""), event.data.get("message", "")))

        bus.subscribe(record, kinds={"metrics", "log"})
        result = Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], bus=bus, grace=grace).run(
            install_signals=False
        )
        bus.close()
        return outcome_type(
            result.exit_code,
            result.reason,
            list(result.failures),
            dict(result.counts),
            metrics,
            logs,
            **extra,
        )


def _spec_path(spec, directory: Path) -> Path:
    if isinstance(spec, Path) or (
        isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))
    ):
        return Path(spec)
    text = spec if isinstance(spec, str) else yaml.safe_dump(dict(spec), sort_keys=False)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.yaml"
    path.write_text(text)
    return path


def run_stage(
    stage_type: str,
    settings: Mapping[str, Any] | None = None,
    *,
    inputs: Mapping[str, Iterable[Any]] | None = None,
    plugins: tuple[Any, ...] = (),
    stop_after: Iterable[str] = (),
    grace: float = 30.0,
) -> StageOutcome:
    """Run one stage type fed with ``inputs`` ({port: items}); collect every output port.

    Each input port gets a feeder that puts its items and ends (a stream
    input then ends for the stage, as when real upstream stages finish); each
    output port gets a collector. Unconnected optional inputs stay
    unconnected. The stage under test is named "stage" in the metrics.
    """
    inputs = dict(inputs or {})
    declared = _registry(tuple(plugins)).get(stage_type)
    if declared is None:
        raise KeyError(f"unknown stage type {stage_type!r}")
    for port in inputs:
        if declared.input(port) is None:
            raise KeyError(
                f"{stage_type} has no input {port!r} (inputs: {[p.name for p in declared.inputs]})"
            )
    run_id = f"r{next(_IDS)}"
    port_types = [(declared.input(p).type, declared.input(p).kind) for p in inputs]
    port_types += [(p.type, p.kind) for p in declared.outputs]
    helper = _HelperPlugin(port_types)
    stages: dict[str, Any] = {}
    sources = {}
    with _LOCK:
        for port, items in inputs.items():
            p = declared.input(port)
            feed_id = f"{run_id}.{port}"
            _FEEDS[feed_id] = list(items)
            suffix = _suffix(p.type, p.kind)
            stages[f"feed_{port}"] = {"use": f"testing.feed_{suffix}", "with": {"feed": feed_id}}
            sources[port] = f"feed_{port}"
    stage_spec: dict[str, Any] = {"use": stage_type, "with": dict(settings or {})}
    if sources:
        stage_spec["from"] = sources
    stages["stage"] = stage_spec
    for p in declared.outputs:
        suffix = _suffix(p.type, p.kind)
        stages[f"collect_{p.name}"] = {
            "use": f"testing.collect_{suffix}",
            "from": f"stage.{p.name}",
            "with": {"collect": f"{run_id}.{p.name}"},
        }
    spec = {"lcpipe": 1, "name": "run-stage", "stages": stages}
    try:
        outcome = _run(spec, (*plugins, helper), stop_after, (), grace, None, StageOutcome)
        with _LOCK:
            outcome.outputs = {p.name: _COLLECTED.pop(f"{run_id}.{p.name}", []) for p in declared.outputs}
        return outcome
    finally:
        with _LOCK:
            for port in inputs:
                _FEEDS.pop(f"{run_id}.{port}", None)
            for p in declared.outputs:
                _COLLECTED.pop(f"{run_id}.{p.name}", None)


def known_port_types() -> list[str]:
    """Port types a feeder or collector can be made for (custom 'plugin/name' types too)."""
    return sorted(PORT_TYPES)
