"""Compiler and planner: extends, overrides, interpolation, defaults, the
graph, native segments, and the drawing of it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.compiler.render import GraphvizMissing, render_dot, render_image, render_mermaid, render_text
from lcpipe.spec.errors import SpecErrors
from lcpipe.spec.schema_export import full_schema


def spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_defaults_from_schema_are_filled(tmp_path, registry):
    p = compile_file(
        spec(
            tmp_path,
            """
        lcpipe: 1
        name: d
        stages:
          src: {use: toy.count}
        """,
        ),
        registry=registry,
    )
    assert p.graph.nodes["src"]["config"] == {"limit": 10, "delay": 0, "fail_at": None}
    assert p.runtime["queue_capacity"] == 8


def test_extends_overrides_and_removes(tmp_path, registry):
    spec(
        tmp_path,
        """
        lcpipe: 1
        name: base
        vars: {out: base.json}
        stages:
          src: {use: toy.count, with: {limit: 5, delay: 0.5}}
          sink: {use: toy.collect, from: src, with: {path: "${out}"}}
          extra: {use: sink.console}
        """,
        "base.yaml",
    )
    child = spec(
        tmp_path,
        """
        lcpipe: 1
        name: child
        extends: base.yaml
        vars: {out: child.json}
        stages:
          src: {with: {limit: 7}}
          extra: null
        """,
        "child.yaml",
    )
    p = compile_file(child, registry=registry)
    assert p.name == "child"
    assert p.graph.nodes["src"]["config"]["limit"] == 7
    assert p.graph.nodes["src"]["config"]["delay"] == 0.5  # kept from the base
    assert p.graph.nodes["sink"]["config"]["path"] == "child.json"  # vars resolved after merging
    assert "extra" not in p.graph


def test_errors_in_base_point_into_the_base_file(tmp_path, registry):
    spec(
        tmp_path,
        """
        lcpipe: 1
        name: base
        stages:
          src: {use: toy.count, with: {limt: 5}}
        """,
        "base.yaml",
    )
    child = spec(tmp_path, "lcpipe: 1\nname: child\nextends: base.yaml\n", "child.yaml")
    with pytest.raises(SpecErrors) as info:
        compile_file(child, registry=registry)
    err = info.value.errors[0]
    assert err.mark.file.endswith("base.yaml") and err.mark.line == 5


def test_set_overrides_and_env_interpolation(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("LCPIPE_TEST_OUT", "from-env.json")
    path = spec(
        tmp_path,
        """
        lcpipe: 1
        name: s
        vars: {n: 3}
        stages:
          src: {use: toy.count, with: {limit: "${n}"}}
          sink: {use: toy.collect, from: src, with: {path: "${env:LCPIPE_TEST_OUT}"}}
          other: {use: toy.collect, from: src, with: {path: "${env:LCPIPE_TEST_UNSET:-fallback.json}"}}
        """,
    )
    p = compile_file(path, ["stages.src.with.delay=0.25", "vars.n=9"], registry=registry)
    assert p.graph.nodes["src"]["config"]["limit"] == 9  # a whole-string ${var} keeps its type
    assert p.graph.nodes["src"]["config"]["delay"] == 0.25
    assert p.graph.nodes["sink"]["config"]["path"] == "from-env.json"
    assert p.graph.nodes["other"]["config"]["path"] == "fallback.json"


def test_environment_is_read_only_when_asked(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("HOME_LIKE", "x")
    path = spec(
        tmp_path,
        """
        lcpipe: 1
        name: s
        stages:
          src: {use: toy.count}
          sink: {use: toy.collect, from: src, with: {path: "${HOME_LIKE}"}}
        """,
    )
    with pytest.raises(SpecErrors) as info:
        compile_file(path, registry=registry)
    assert info.value.errors[0].message == "unknown variable ${HOME_LIKE}"


NATIVE = """
    lcpipe: 1
    name: fused
    stages:
      a: {use: toy.native_a}
      b: {use: toy.native_b, from: a}
      c: {use: toy.native_b, from: b}
      mid: {use: toy.scale, from: c}
      d: {use: toy.native_b, from: mid}
      sink: {use: toy.collect, from: d, with: {path: x.json}}
    """


def test_native_runs_fuse_into_segments(tmp_path, registry):
    plan = plan_pipeline(compile_file(spec(tmp_path, NATIVE), registry=registry))
    native = [s for s in plan.segments if s.native]
    assert [s.stages for s in native] == [["a", "b", "c"], ["d"]]
    first = native[0]
    assert [(l.src, l.dst) for l in first.internal] == [("a", "b"), ("b", "c")]
    assert [(l.src, l.dst) for l in first.outputs] == [("c", "mid")]
    assert [s.name for s in plan.segments if not s.native] == ["mid", "sink"]


def test_graph_renderings_mark_native_segments(tmp_path, registry):
    plan = plan_pipeline(compile_file(spec(tmp_path, NATIVE), registry=registry))
    text = render_text(plan)
    assert "native segment 'native0'" in text and "native segment 'd'" in text
    assert "──▶ mid.numbers  (toy/int)" in text
    dot = render_dot(plan)
    assert 'subgraph "cluster_native0"' in dot and '"c" -> "mid"' in dot
    mermaid = render_mermaid(plan)
    assert 'subgraph s_native0_seg["native segment native0"]' in mermaid


def test_latest_edges_are_drawn_dashed(tmp_path, registry):
    path = spec(
        tmp_path,
        """
        lcpipe: 1
        name: loop
        stages:
          src: {use: toy.count}
          sink: {use: toy.collect, from: {numbers: src, hint: back}, with: {path: x.json}}
          back: {use: toy.scale, from: sink.feedback}
        """,
    )
    plan = plan_pipeline(compile_file(path, registry=registry))
    assert "┄▶ sink.hint  (toy/int, latest)" in render_text(plan)
    assert 'style="dashed"' in render_dot(plan)
    assert "-.->" in render_mermaid(plan)


def test_svg_without_graphviz_says_how_to_get_it(tmp_path, registry, monkeypatch):
    plan = plan_pipeline(compile_file(spec(tmp_path, NATIVE), registry=registry))
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' here
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        render_image(plan, "svg")


def test_full_schema_checks_stage_settings(registry):
    schema = full_schema(registry)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"lcpipe": 1, "name": "x", "stages": {"s": {"use": "sink.console", "with": {"interval": 2}}}}
    bad = {"lcpipe": 1, "name": "x", "stages": {"s": {"use": "sink.console", "with": {"intervl": 2}}}}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors(bad))


def test_cli_stages_and_schema_commands():
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "stages", "sink.jsonl"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert 'path: string = "runs/metrics.jsonl"' in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "stages", "sink.jsnl"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "did you mean 'sink.jsonl'?" in done.stderr
    done = subprocess.run([sys.executable, "-m", "lcpipe.cli.main", "schema"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "sink.jsonl" in json.loads(done.stdout)["$defs"]["settings"]


def test_cli_conventions():
    for args, code in ((["--version"], 0), (["--help"], 0), (["run", "--help"], 0), (["bogus"], 2), ([], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "lcpipe.cli.main", *args], capture_output=True, text=True
        )
        assert done.returncode == code, (args, done.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "run", "missing.yaml"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "no such file: missing.yaml" in done.stderr


def test_only_stages_of_the_same_engine_fuse(tmp_path, registry):
    text = """
    lcpipe: 1
    name: engines
    stages:
      a: {use: toy.native_a}
      b: {use: toy.native_b, from: a}
      other: {use: toy.other_engine, from: b}
      c: {use: toy.native_b, from: other}
      sink: {use: toy.collect, from: c, with: {path: x.json}}
    """
    plan = plan_pipeline(compile_file(spec(tmp_path, text), registry=registry))
    assert [(s.stages, s.engine) for s in plan.segments if s.native] == [
        (["a", "b"], "toy"),
        (["other"], "other"),
        (["c"], "toy"),
    ]
