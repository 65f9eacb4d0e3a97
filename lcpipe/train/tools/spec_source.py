"""The train.jax stage of a spec: its validated, defaulted settings and where its data comes from.

The spec is loaded, ``--set`` applied and compiled exactly as ``lcpipe run`` does, so a tool
trains and evaluates the model, losses and data the pipeline would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lcpipe.train.model_source import ModelSourceError, resolve_model
from lcpipe.train.tools.errors import usage_error

if TYPE_CHECKING:
    from lcpipe.compiler.compile import Pipeline

TRAIN_TYPE = "train.jax"


@dataclass
class TrainSpec:
    """One train.jax stage of a compiled pipeline."""

    pipeline: Pipeline
    stage: str
    settings: dict

    def source(self, port: str) -> tuple[str, str] | None:
        """(stage, output port) feeding this stage's input ``port``; None if it is not connected."""
        for link in self.pipeline.links():
            if link.dst == self.stage and link.dst_port == port:
                return link.src, link.src_port
        return None


def load_train_spec(path: str, stage: str | None = None, overrides: list[str] | None = None) -> TrainSpec:
    """Compile the spec and pick its train.jax stage (``stage`` when there are several).

    Spec mistakes raise ``SpecErrors`` (printed like ``lcpipe validate``); no or an ambiguous
    train.jax stage raises a usage error."""
    from lcpipe.compiler import compile_file
    from lcpipe.registry import load_registry

    pipeline = compile_file(path, overrides, load_registry())
    graph = pipeline.graph
    trainers = [n for n in graph.nodes if graph.nodes[n]["use"] == TRAIN_TYPE]
    if stage is not None:
        if stage not in graph.nodes:
            raise usage_error(
                f"{path}: no stage {stage!r} (train.jax stages: {', '.join(trainers) or 'none'})"
            )
        if graph.nodes[stage]["use"] != TRAIN_TYPE:
            raise usage_error(f"{path}: stage {stage!r} is a {graph.nodes[stage]['use']}, not a {TRAIN_TYPE}")
    elif len(trainers) == 1:
        stage = trainers[0]
    elif not trainers:
        raise usage_error(f"{path}: the spec has no {TRAIN_TYPE} stage")
    else:
        raise usage_error(
            f"{path}: several {TRAIN_TYPE} stages ({', '.join(trainers)}); choose one with --stage"
        )
    try:  # model: from_checkpoint -> init_checkpoint's model (validation made sure it can be read)
        settings = resolve_model(dict(graph.nodes[stage]["config"]))
    except ModelSourceError as exc:
        raise usage_error(f"{path}: {exc}") from None
    return TrainSpec(pipeline, stage, settings)
