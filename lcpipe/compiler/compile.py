"""Compiles a validated spec into a networkx DiGraph of stage instances.

Nodes are stage names (attributes: ``stage_type``, ``config``, ``segment``,
``queue``). An edge u -> v carries ``links``: a list of ``Link`` (which output
port feeds which input port, the port type and the edge kind). The compiler
checks references, port types, required inputs and cycles; a cycle is legal
only if one of its edges is a latest edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from lcpipe.plugin import Port, StageType
from lcpipe.registry import Registry, load_registry
from lcpipe.spec.errors import SpecError, SpecErrors, did_you_mean
from lcpipe.spec.loader import SpecDocument, load_spec
from lcpipe.spec.validate import validate_document


@dataclass(frozen=True)
class Link:
    src: str
    src_port: str
    dst: str
    dst_port: str
    type: str
    kind: str  # "stream" | "latest"


@dataclass
class Pipeline:
    """A compiled pipeline: the spec it came from and its stage graph."""

    name: str
    doc: SpecDocument
    graph: nx.DiGraph
    registry: Registry

    @property
    def runtime(self) -> dict[str, Any]:
        return self.doc.data.get("runtime") or {}

    def links(self) -> list[Link]:
        return [link for _, _, data in self.graph.edges(data=True) for link in data["links"]]

    def stage_type(self, name: str) -> StageType:
        return self.graph.nodes[name]["stage_type"]


def _as_ref_list(value: Any) -> list[str]:
    """The refs of a ``from`` entry; anything but a string or a list of strings was
    already reported by the document schema and yields none."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return []


def _resolve_ref(
    ref: str,
    where: tuple,
    stages: dict[str, StageType],
    doc: SpecDocument,
    errors: list[SpecError],
    want_type: str = "",
) -> tuple[str, Port] | None:
    """The output port a reference names; a bare stage name of a stage with several outputs names
    its one output of ``want_type`` (the reading port's type), if exactly one has it."""
    name, _, port_name = ref.partition(".")
    if name not in stages:
        errors.append(
            doc.error(f"input refers to unknown stage {name!r}", where, did_you_mean(name, stages, "stages"))
        )
        return None
    st = stages[name]
    if not st.outputs:
        errors.append(doc.error(f"stage {name!r} ({st.name}) has no outputs to read from", where))
        return None
    if not port_name:
        typed = [p for p in st.outputs if p.type == want_type]
        if len(st.outputs) > 1 and len(typed) == 1:
            return name, typed[0]
        if len(st.outputs) > 1:
            names = ", ".join(f"'{name}.{p.name}'" for p in st.outputs)
            errors.append(
                doc.error(f"stage {name!r} has several outputs; say which", where, f"use one of {names}")
            )
            return None
        return name, st.outputs[0]
    port = st.output(port_name)
    if port is None:
        errors.append(
            doc.error(
                f"stage {name!r} ({st.name}) has no output {port_name!r}",
                where,
                did_you_mean(port_name, [p.name for p in st.outputs], "outputs"),
            )
        )
        return None
    return name, port


def _input_assignments(
    name: str, spec: dict[str, Any], st: StageType, doc: SpecDocument, errors: list[SpecError]
) -> dict[str, tuple[list[str], tuple]] | None:
    """Input port -> (refs, spec path) for one stage's ``from`` (None: ``from`` is unusable)."""
    src = spec.get("from")
    base = ("stages", name, "from")
    if src is None:
        return {}
    if not isinstance(src, (str, list, dict)):
        return None  # a wrong type, reported by the document schema
    if isinstance(src, dict):
        out = {}
        for port_name, refs in src.items():
            if st.input(port_name) is None:
                hint = (
                    did_you_mean(port_name, [p.name for p in st.inputs], "inputs")
                    if st.inputs
                    else f"{st.name} takes no inputs"
                )
                errors.append(
                    doc.error(
                        f"stage type {st.name} has no input {port_name!r}",
                        base + (port_name,),
                        hint,
                        prefer_key=True,
                    )
                )
                continue
            out[port_name] = (_as_ref_list(refs), base + (port_name,))
        return out
    if not st.inputs:
        errors.append(doc.error(f"stage type {st.name} takes no inputs", base, "remove 'from'"))
        return {}
    if len(st.inputs) == 1:
        return {st.inputs[0].name: (_as_ref_list(src), base)}
    required = [p for p in st.inputs if p.required]
    if len(required) == 1:
        return {required[0].name: (_as_ref_list(src), base)}
    names = ", ".join(p.name for p in st.inputs)
    errors.append(
        doc.error(
            f"stage type {st.name} has several inputs ({names}); map them by name",
            base,
            f"write from: {{{st.inputs[0].name}: ..., ...}}",
        )
    )
    return {}


def compile_document(doc: SpecDocument, registry: Registry | None = None) -> Pipeline:
    registry = registry or load_registry()
    errors = validate_document(doc, registry)
    data = doc.data
    stage_specs = {
        n: s
        for n, s in (data.get("stages") or {}).items()
        if isinstance(s, dict) and s.get("enabled", True) is not False
    }
    types: dict[str, StageType] = {}
    for name, spec in stage_specs.items():
        use = spec.get("use")
        st = registry.get(use) if isinstance(use, str) else None
        if st is not None:
            types[name] = st

    graph = nx.DiGraph(name=data.get("name", ""))
    for name, st in types.items():
        spec = stage_specs[name]
        graph.add_node(
            name,
            stage_type=st,
            config=spec.get("with") or {},
            segment=st.segment,
            queue=spec.get("queue") or {},
            use=st.name,
        )

    for name, st in types.items():
        for port_name in (stage_specs[name].get("queue") or {}).get("ports") or {}:
            if st.input(port_name) is None:
                errors.append(
                    doc.error(
                        f"queue settings for unknown input {port_name!r} of stage {name!r}",
                        ("stages", name, "queue", "ports", port_name),
                        did_you_mean(port_name, [p.name for p in st.inputs], "inputs"),
                        prefer_key=True,
                    )
                )
        assigned = _input_assignments(name, stage_specs[name], st, doc, errors)
        if assigned is None:
            continue
        for port in st.inputs:
            refs, where = assigned.get(port.name, ([], ("stages", name)))
            if not refs:
                if port.required:
                    errors.append(
                        doc.error(
                            f"input {port.name!r} ({port.type}) of stage {name!r} is not connected",
                            ("stages", name),
                            f"add from: {{{port.name}: <stage that outputs {port.type}>}}",
                            prefer_key=True,
                        )
                    )
                continue
            if len(refs) > 1 and not port.many:
                errors.append(
                    doc.error(
                        f"input {port.name!r} of stage {name!r} takes one source, got {len(refs)}",
                        where,
                        "merge the streams with a merge stage first",
                    )
                )
                continue
            for i, ref in enumerate(refs):
                ref_where = where + (i,) if len(refs) > 1 else where
                resolved = _resolve_ref(ref, ref_where, types, doc, errors, port.type)
                if resolved is None:
                    continue
                src, out_port = resolved
                if out_port.type != port.type:
                    errors.append(
                        doc.error(
                            f"type mismatch: {src}.{out_port.name} gives {out_port.type!r} but "
                            f"{name}.{port.name} takes {port.type!r}",
                            ref_where,
                            f"connect {name}.{port.name} to a stage that outputs {port.type!r}",
                        )
                    )
                    continue
                kind = "latest" if "latest" in (port.kind, out_port.kind) else "stream"
                link = Link(src, out_port.name, name, port.name, port.type, kind)
                if graph.has_edge(src, name):
                    graph.edges[src, name]["links"].append(link)
                else:
                    graph.add_edge(src, name, links=[link])

    # a cycle must pass through at least one latest edge
    streams_only = nx.DiGraph()
    streams_only.add_nodes_from(graph.nodes)
    streams_only.add_edges_from(
        (u, v) for u, v, d in graph.edges(data=True) if any(link.kind == "stream" for link in d["links"])
    )
    order = list(stage_specs)
    for cycle in nx.simple_cycles(streams_only):
        start = min(range(len(cycle)), key=lambda i: order.index(cycle[i]))
        cycle = cycle[start:] + cycle[:start]  # report from the stage written first
        path = " -> ".join(cycle + [cycle[0]])
        errors.append(
            doc.error(
                f"stages form a cycle of stream edges: {path}",
                ("stages", cycle[0]),
                "a loop must pass through a 'latest' port (e.g. the newest network for "
                "self-play), or it would deadlock",
                prefer_key=True,
            )
        )
        break
    if errors:
        raise SpecErrors(errors)
    return Pipeline(str(data.get("name")), doc, graph, registry)


def compile_file(
    path: str | Path, overrides: list[str] | None = None, registry: Registry | None = None
) -> Pipeline:
    return compile_document(load_spec(path, overrides), registry)
