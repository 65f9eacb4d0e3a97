"""Execution plan: which stages run as Python threads and which native stages
are fused into one C++ segment.

A native segment is a weakly connected group of stages of the same engine
(their ``StageType.segment``) joined by stream edges: the data between them
never enters Python. Stages of different engines never fuse. Its external inputs and
outputs are the ports that connect it to the rest of the pipeline, named
"stage.port".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from lcpipe.compiler.compile import Link, Pipeline


@dataclass
class Segment:
    """A unit the runtime starts: one Python stage or one fused native segment."""

    name: str
    stages: list[str]
    engine: str  # the StageType.segment of its stages; "" for a Python stage
    internal: list[Link] = field(default_factory=list)
    inputs: list[Link] = field(default_factory=list)  # edges entering from outside
    outputs: list[Link] = field(default_factory=list)  # edges leaving to outside

    @property
    def native(self) -> bool:
        return bool(self.engine)


@dataclass
class Plan:
    pipeline: Pipeline
    segments: list[Segment]

    def segment_of(self, stage: str) -> Segment:
        return next(s for s in self.segments if stage in s.stages)


def _native_groups(pipeline: Pipeline, order: dict[str, int]) -> list[list[str]]:
    g = pipeline.graph
    fused = nx.Graph()
    fused.add_nodes_from(n for n in g.nodes if g.nodes[n]["segment"])
    for u, v, data in g.edges(data=True):
        engine = g.nodes[u]["segment"]
        if engine and g.nodes[v]["segment"] == engine and any(l.kind == "stream" for l in data["links"]):
            fused.add_edge(u, v)
    groups = [sorted(c, key=order.__getitem__) for c in nx.connected_components(fused)]
    return sorted(groups, key=lambda grp: order[grp[0]])


def _topo_order(g: nx.DiGraph) -> list[str]:
    """Topological order over stream edges (latest edges may close cycles)."""
    streams = nx.DiGraph()
    streams.add_nodes_from(g.nodes)
    streams.add_edges_from(
        (u, v) for u, v, d in g.edges(data=True) if any(l.kind == "stream" for l in d["links"])
    )
    return list(nx.lexicographical_topological_sort(streams))


def plan_pipeline(pipeline: Pipeline) -> Plan:
    g = pipeline.graph
    links = pipeline.links()
    topo = _topo_order(g)
    order = {n: i for i, n in enumerate(topo)}
    segments: list[Segment] = []
    grouped: set[str] = set()
    for i, group in enumerate(_native_groups(pipeline, order)):
        members = set(group)
        grouped |= members
        seg = Segment(
            name=f"native{i}" if len(group) > 1 else group[0],
            stages=group,
            engine=g.nodes[group[0]]["segment"],
        )
        for link in links:
            inside_src, inside_dst = link.src in members, link.dst in members
            if inside_src and inside_dst and link.kind == "stream":
                seg.internal.append(link)
            elif inside_dst:
                seg.inputs.append(link)
            elif inside_src:
                seg.outputs.append(link)
        segments.append(seg)
    by_src: dict[str, list[Link]] = {}
    by_dst: dict[str, list[Link]] = {}
    for link in links:
        by_src.setdefault(link.src, []).append(link)
        by_dst.setdefault(link.dst, []).append(link)
    for name in topo:
        if name in grouped:
            continue
        seg = Segment(name=name, stages=[name], engine="")
        seg.inputs = by_dst.get(name, [])
        seg.outputs = by_src.get(name, [])
        segments.append(seg)
    segments.sort(key=lambda s: order[s.stages[0]])
    return Plan(pipeline, segments)


def describe_plan(plan: Plan) -> dict:
    """What a remote viewer needs of a plan, as plain data: per segment its type,
    member stages, the queues it reads and the queues only it writes, and its
    summary metrics (StageType.summary, "{stage}" filled in)."""
    g = plan.pipeline.graph
    writers: dict[str, int] = {}
    for link in plan.pipeline.links():
        key = f"{link.dst}.{link.dst_port}"
        writers[key] = writers.get(key, 0) + 1
    segments = []
    for seg in plan.segments:
        kind = g.nodes[seg.stages[0]]["use"]
        if seg.native and len(seg.stages) > 1:
            kind = "native: " + " + ".join(g.nodes[s]["use"] for s in seg.stages)
        segments.append(
            {
                "name": seg.name,
                "type": kind,
                "engine": seg.engine,
                "stages": list(seg.stages),
                "inputs": [{"queue": f"{l.dst}.{l.dst_port}", "kind": l.kind} for l in seg.inputs],
                "outputs": sorted(
                    {f"{l.dst}.{l.dst_port}" for l in seg.outputs if writers[f"{l.dst}.{l.dst_port}"] == 1}
                ),
                "summary": [
                    m.replace("{stage}", n) for n in seg.stages for m in g.nodes[n]["stage_type"].summary
                ],
            }
        )
    return {"pipeline": plan.pipeline.name, "segments": segments}
