"""Draws a compiled pipeline: terminal text, Graphviz dot, Mermaid; svg/png
through the Graphviz ``dot`` program when it is installed."""

from __future__ import annotations

import shutil
import subprocess

from lcpipe.compiler.plan import Plan


def _edge_label(link) -> str:
    label = f"{link.src_port}→{link.dst_port}" if link.src_port != link.dst_port else link.dst_port
    return f"{label} ({link.type}{', latest' if link.kind == 'latest' else ''})"


def render_text(plan: Plan) -> str:
    p = plan.pipeline
    g = p.graph
    native_count = sum(1 for s in plan.segments if s.native)
    lines = [
        f"pipeline {p.name}: {g.number_of_nodes()} stages, {len(plan.segments)} threads of execution"
        f" ({native_count} native segment{'s' if native_count != 1 else ''})",
        "",
    ]
    width = max((len(n) for n in g.nodes), default=4)
    for seg in plan.segments:
        if seg.native:
            lines.append(f"┌─ native segment {seg.name!r} (fused C++; data stays native inside)")
            prefix, tail = "│ ", "└─"
        else:
            prefix, tail = "", None
        for name in seg.stages:
            use = g.nodes[name]["use"]
            lines.append(f"{prefix}{name:<{width}}  [{use}]")
            for link in sorted((l for l in p.links() if l.src == name), key=lambda l: (l.dst, l.dst_port)):
                arrow = "┄▶" if link.kind == "latest" else "──▶"
                lines.append(
                    f"{prefix}{'':<{width}}    {arrow} {link.dst}.{link.dst_port}  "
                    f"({link.type}{', latest' if link.kind == 'latest' else ''})"
                )
        if tail:
            lines.append(tail)
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', r"\"") + '"'


def render_dot(plan: Plan) -> str:
    p = plan.pipeline
    g = p.graph
    out = [
        f"digraph {_dot_id(p.name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for seg in plan.segments:
        if seg.native:
            out.append(f"  subgraph {_dot_id('cluster_' + seg.name)} {{")
            out.append(f'    label="native segment {seg.name}"; style="dashed"; color="#d08000";')
            for name in seg.stages:
                out.append(
                    f'    {_dot_id(name)} [label="{name}\\n[{g.nodes[name]["use"]}]", color="#d08000"];'
                )
            out.append("  }")
        else:
            for name in seg.stages:
                out.append(f'  {_dot_id(name)} [label="{name}\\n[{g.nodes[name]["use"]}]"];')
    for link in p.links():
        style = ', style="dashed"' if link.kind == "latest" else ""
        out.append(f'  {_dot_id(link.src)} -> {_dot_id(link.dst)} [label="{_edge_label(link)}"{style}];')
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_id(name: str) -> str:
    return "s_" + "".join(c if c.isalnum() else "_" for c in name)


def render_mermaid(plan: Plan) -> str:
    p = plan.pipeline
    g = p.graph
    out = ["flowchart LR"]
    for seg in plan.segments:
        nodes = [f'{_mermaid_id(n)}["{n}<br/>[{g.nodes[n]["use"]}]"]' for n in seg.stages]
        if seg.native:
            out.append(f'  subgraph {_mermaid_id(seg.name)}_seg["native segment {seg.name}"]')
            out.extend(f"    {n}" for n in nodes)
            out.append("  end")
        else:
            out.extend(f"  {n}" for n in nodes)
    for link in p.links():
        arrow = "-.->" if link.kind == "latest" else "-->"
        out.append(f'  {_mermaid_id(link.src)} {arrow}|"{_edge_label(link)}"| {_mermaid_id(link.dst)}')
    return "\n".join(out) + "\n"


class GraphvizMissing(Exception):
    pass


def render_image(plan: Plan, fmt: str) -> bytes:
    """svg or png bytes through Graphviz's ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            f"--format {fmt} needs Graphviz's 'dot' program, which is not installed. "
            "Install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
            "or use --format dot / mermaid / text, which need nothing."
        )
    done = subprocess.run(
        [dot, f"-T{fmt}"], input=render_dot(plan).encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise GraphvizMissing(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


RENDERERS = {"text": render_text, "dot": render_dot, "mermaid": render_mermaid}
