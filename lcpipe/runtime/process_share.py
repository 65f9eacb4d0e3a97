"""What one process of a multi-process run runs of a compiled pipeline (docs/scaling.md).

The rule: a stage type declared ``every_process`` (the loader stages, train.jax) runs in every
process; any other stage (exporters, sinks, self-play, gating, plugins that do not say
otherwise) runs only in process 0, so the run's outputs are written once. Each process then
loads its own shard of the games (loader.split with ``shards: 0`` takes one shard per process)
and makes its share of every batch: a ``batch_size`` in the spec is the global batch, each of N
processes makes batches of batch_size / N.
"""

from __future__ import annotations

import copy


class ProcessShareError(ValueError):
    """The pipeline cannot be split over processes; the message says why and what to change."""


def process_zero_only(pipeline) -> set[str]:
    """Names of the stages only process 0 runs."""
    g = pipeline.graph
    return {n for n in g.nodes if not g.nodes[n]["stage_type"].every_process}


def check_shareable(pipeline, count: int) -> None:
    """ProcessShareError when a stage of every process reads from a process-0-only stage (the
    other processes would lack that input), or a global batch does not divide by ``count``."""
    g = pipeline.graph
    zero_only = process_zero_only(pipeline)
    for link in pipeline.links():
        if link.dst not in zero_only and link.src in zero_only:
            raise ProcessShareError(
                f"stage {link.dst!r} runs in every process but its input {link.dst_port!r} comes from "
                f"{link.src!r} ({g.nodes[link.src]['use']}), which runs only in process 0: feed it "
                "from files every host can read (e.g. loader.watch on a shared games directory)"
            )
    for name in g.nodes:
        if name in zero_only:
            continue
        size = _batch_size(g.nodes[name])
        if size is not None and size % count:
            raise ProcessShareError(
                f"stage {name!r}: batch_size {size} is the global batch and must divide by the "
                f"{count} processes (each makes batches of batch_size / {count})"
            )


def _batch_size(node) -> int | None:
    if not any(p.type == "batches" for p in node["stage_type"].outputs):
        return None
    size = (node.get("config") or {}).get("batch_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def share_for_process(pipeline, index: int, count: int):
    """The pipeline as process ``index`` of ``count`` runs it (a changed copy; ``pipeline`` as is
    for a single process). Raises ProcessShareError (check_shareable)."""
    if count <= 1:
        return pipeline
    check_shareable(pipeline, count)
    mine = copy.copy(pipeline)
    mine.graph = pipeline.graph.copy()
    g = mine.graph
    if index != 0:
        g.remove_nodes_from(process_zero_only(pipeline))
    for name in g.nodes:
        node = g.nodes[name]
        config = copy.deepcopy(node.get("config") or {})
        if node["use"] == "loader.split" and config.get("shards") == 0:
            config["shards"], config["shard"] = count, index
        size = _batch_size(node)
        if size is not None:
            config["batch_size"] = size // count
        g.nodes[name]["config"] = config
    return mine
