"""How long does compiling a large spec take?

Builds a 200-stage pipeline of real stages (a generator, a reference loader,
197 pass-through `example.batch_stats` stages — the plugin shipped in
plugins/ — and a JSONL sink), then times each phase: load (YAML with marks,
extends, interpolation), validate + compile to the graph, plan. The
baseline, measured in the same run, is plain `yaml.load` (libyaml's safe loader) of the same
text: the ratio says what our checks cost on top of reading the file.

Target (issue 2): the whole compile of 200 stages under 200 ms.

Run: .venv/bin/python benchmarks/bench_compile.py [--stages 200] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from lcpipe.compiler import compile_document, plan_pipeline
from lcpipe.registry import load_registry
from lcpipe.spec.loader import load_spec


def make_spec(stages: int) -> str:
    lines = [
        "lcpipe: 1",
        "name: big",
        "vars: {run: runs/bench}",
        "stages:",
        '  games: {use: data.generate, with: {out_dir: "${run}/games", games: 10}}',
        "  s0: {use: data.batches, from: games, with: {batch_size: 64}}",
    ]
    for i in range(1, stages - 2):
        lines.append(
            f"  s{i}: {{use: example.batch_stats, from: s{i - 1}.batches, with: {{every: {i % 5 + 1}}}}}"
        )
    lines.append('  log: {use: sink.jsonl, with: {path: "${run}/metrics.jsonl"}}')
    return "\n".join(lines) + "\n"


def best_of(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    registry = load_registry()
    assert registry.get("example.batch_stats"), "install plugins/lcpipe-example (make setup does)"
    text = make_spec(args.stages)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(text)

        def full():
            return plan_pipeline(compile_document(load_spec(path), registry))

        plan = full()
        assert plan.pipeline.graph.number_of_nodes() == args.stages
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        base_min, base_med = best_of(lambda: yaml.load(text, Loader=loader), args.repeat)
        load_min, load_med = best_of(lambda: load_spec(path), args.repeat)
        docs = [load_spec(path) for _ in range(args.repeat)]
        comp = []
        for doc in docs:
            t0 = time.perf_counter()
            pipeline = compile_document(doc, registry)
            comp.append(time.perf_counter() - t0)
        plan_min, plan_med = best_of(lambda: plan_pipeline(pipeline), args.repeat)
        full_min, full_med = best_of(full, args.repeat)
    print(f"spec: {args.stages} stages, {len(text)} bytes of YAML; best / median of {args.repeat}")
    print(f"  baseline yaml.load (libyaml)  {base_min * 1e3:7.1f} ms / {base_med * 1e3:7.1f} ms")
    print(f"  load (marks, interpolation)  {load_min * 1e3:7.1f} ms / {load_med * 1e3:7.1f} ms")
    print(
        f"  validate + compile graph     {min(comp) * 1e3:7.1f} ms / {statistics.median(comp) * 1e3:7.1f} ms"
    )
    print(f"  plan (native segments)       {plan_min * 1e3:7.1f} ms / {plan_med * 1e3:7.1f} ms")
    print(
        f"  total                        {full_min * 1e3:7.1f} ms / {full_med * 1e3:7.1f} ms"
        f"   = {full_med / base_med:.1f}x plain YAML parsing"
    )
    verdict = "PASS" if full_med < 0.200 else "FAIL"
    print(f"target: total under 200 ms -> {verdict} (median {full_med * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
