"""Batches from a spec's own data stages: the part of the pipeline upstream of one train.jax input.

The stages feeding the chosen input (``train``, ``test`` or ``validation``) run unchanged in
this process, with the real runtime and loader; a collector takes their batches in place of
the trainer, and a stop bound ends the producers once enough batches came out.
"""

from __future__ import annotations

import itertools
import threading

import networkx as nx

from lcpipe.plugin import Port, StageType
from lcpipe.runtime.stage import Stage
from lcpipe.train.tools.errors import ToolError, usage_error
from lcpipe.train.tools.progress import Progress
from lcpipe.train.tools.spec_source import TrainSpec

COLLECTOR = "__tool_batches__"
_TAKEN: dict[str, list] = {}
_LOCK = threading.Lock()
_IDS = itertools.count()


class TakeBatches(Stage):
    """Keeps the first ``count`` batches of its input, then stops reading."""

    def run(self) -> None:
        key, count = self.config["key"], self.config["count"]
        for batch in self.ctx.input("batches"):
            with _LOCK:
                taken = _TAKEN.setdefault(key, [])
                taken.append(batch)
                if len(taken) >= count:
                    return


_TAKE_TYPE = StageType(
    name="train.tool_batches",
    factory=f"{__name__}:TakeBatches",
    description="Takes batches for a training tool.",
    inputs=(Port("batches", "batches"),),
)


def take_batches(spec: TrainSpec, port: str, count: int, timeout: float, progress: Progress | None = None):
    """The first ``count`` batches the spec's stages deliver to the trainer's ``port``.

    ToolError when the port is not connected or fewer batches came within ``timeout`` seconds."""
    from lcpipe.compiler.compile import Link, Pipeline
    from lcpipe.compiler.plan import plan_pipeline
    from lcpipe.runtime.runner import Runtime, StopBound

    source = spec.source(port)
    if source is None:
        raise usage_error(f"the {spec.stage!r} stage's {port!r} input is not connected in the spec")
    src, src_port = source
    full = spec.pipeline.graph
    graph = full.subgraph(nx.ancestors(full, src) | {src}).copy()
    key = f"b{next(_IDS)}"
    graph.add_node(
        COLLECTOR,
        stage_type=_TAKE_TYPE,
        config={"key": key, "count": count},
        segment="",
        queue={},
        use=_TAKE_TYPE.name,
    )
    graph.add_edge(src, COLLECTOR, links=[Link(src, src_port, COLLECTOR, "batches", "batches", "stream")])
    sub = Pipeline(spec.pipeline.name, spec.pipeline.doc, graph, spec.pipeline.registry)
    runtime = Runtime(
        plan_pipeline(sub),
        stop_after=[StopBound(f"{src}.{src_port}", count), StopBound("seconds", timeout)],
    )
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.update(run=runtime.run(install_signals=False)), daemon=True
    )
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
        if progress is not None:
            with _LOCK:
                progress.update(len(_TAKEN.get(key, ())), count, "batches from the spec's data")
    with _LOCK:
        batches = _TAKEN.pop(key, [])[:count]
    run = result.get("run")
    if run is not None and run.failures:
        stage, message = run.failures[0]
        raise ToolError(f"the spec's data stage {stage!r} failed: {message}")
    if len(batches) < count:
        raise ToolError(
            f"the spec's {port!r} data gave {len(batches)} of {count} batches "
            f"(in {timeout:g} s; does the data directory hold games?)"
        )
    return batches
