"""The public surface for stage and plugin authors: everything they import comes from here.

Built-in stages and third-party plugins use exactly this module: hook
markers, stage declarations (``Port``, ``StageType``, and the settings
helper ``settings``/``field``/``group`` with ``Problem`` for checks), the
run-time API (``Stage`` and what its context hands out), and the items that
travel on ports. A plugin module implements ``lcpipe_stage_types`` and returns
``StageType`` objects; the factory is an import path so that declaring a stage
imports nothing heavy (``lcpipe validate`` and ``lcpipe graph`` never import
JAX). ``__all__`` is the public list; tests/core/test_public_api.py pins it.
The testing kit for plugin authors is ``lcpipe.testing``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pluggy

from lcpipe.runtime.bus import Event
from lcpipe.runtime.channels import ChannelClosed
from lcpipe.runtime.stage import InputPort, OutputPort, Stage, StageContext, StageFailed
from lcpipe.settings import Problem, field, group, settings
from lcpipe.types import PORT_TYPES, Batch, Chunk, ExportedNetwork, NetworkSnapshot

__all__ = [
    # declaring stages
    "hookimpl",
    "hookspec",
    "Port",
    "StageType",
    "settings",
    "field",
    "group",
    "Problem",
    "EdgeKind",
    # running them
    "Stage",
    "StageContext",
    "StageFailed",
    "InputPort",
    "OutputPort",
    "ChannelClosed",
    "Event",
    # what travels on ports
    "PORT_TYPES",
    "Batch",
    "Chunk",
    "ExportedNetwork",
    "NetworkSnapshot",
]

PROJECT = "lcpipe"

hookimpl = pluggy.HookimplMarker(PROJECT)
hookspec = pluggy.HookspecMarker(PROJECT)

EdgeKind = Literal["stream", "latest"]


@dataclass(frozen=True)
class Port:
    """One typed input or output of a stage.

    ``kind="stream"``: a bounded queue with back-pressure, every item is seen.
    ``kind="latest"``: only the newest item is kept; reading never blocks the
    writer. Cycles in a pipeline are legal only through latest edges.
    ``many=True`` (inputs only): the port accepts several upstream edges,
    merged into one stream.
    """

    name: str
    type: str
    kind: EdgeKind = "stream"
    required: bool = True
    many: bool = False
    doc: str = ""


@dataclass(frozen=True)
class StageType:
    """Declaration of a stage type, as returned by ``lcpipe_stage_types``."""

    name: str
    factory: str
    description: str
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    schema: dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "object", "properties": {}})
    # Fusion engine: stages with the same non-empty ``segment`` joined by
    # stream edges run as ONE segment built by the first stage's factory (the
    # built-in C++ loader's engine is "loader"). Empty: a Python thread of its own.
    segment: str = ""
    plugin: str = ""
    # "module:function" called with the stage's settings in the main thread
    # before any stage of the pipeline starts: process-wide set-up that must
    # precede everything else (e.g. how JAX lays out CPU devices).
    prepare: str = ""
    # Commands a client may send the running stage (``lcpipe daemon``'s
    # train_now, export_now, ...); the stage reads them with ctx.take_commands().
    commands: tuple[str, ...] = ()
    # Metric names (glob patterns; "{stage}" stands for the stage's name) that
    # summarise the stage in one line: the console and the dashboard show these
    # first (a stage naming none: its rates).
    summary: tuple[str, ...] = ()
    # Rules between settings, run by `lcpipe validate` on the defaulted settings:
    # each is called with them and yields lcpipe.settings.Problem (path inside `with:`).
    checks: tuple[Callable[[dict], Iterable[Problem]], ...] = ()
    # A multi-process run (docs/scaling.md) runs this stage in every process (the data loader,
    # the trainer stepping in lockstep); otherwise only in process 0 (exporters, sinks,
    # self-play, gating: whatever writes the run's outputs once).
    every_process: bool = False

    @property
    def native(self) -> bool:
        """Runs fused in an engine segment (not as a Python thread of its own)."""
        return bool(self.segment)

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)
