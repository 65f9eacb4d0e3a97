"""eval.gate in a small pipeline: the anchor, a stronger network promoted, a weaker one refused; the ladder."""

from __future__ import annotations

import json
import textwrap

import network_source
import pytest
from arena_nets import uniform_snapshot, write_net

from lcpipe.cli.main import main
from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.registry import load_registry
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.runner import Runtime

# visits: the material network's policy is uniform, so it needs tens of visits to find captures (8: all draws)
GATE = "{games: 4, visits: 64, max_plies: 40, parallel_games: 4, promote: %s, ladder: %s, engine: %s}"


def run_gate(tmp_path, files, steps, ladder, promote="passed", engine="native"):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "lcpipe: 1\nname: gate\n"
        + textwrap.dedent(f"""
        stages:
          nets: {{use: test.networks, with: {{paths: {json.dumps([str(f) for f in files])}, steps: {steps},
                                             ladder: "{ladder}"}}}}
          gate: {{use: eval.gate, from: nets, with: {GATE % (promote, json.dumps(str(ladder)), engine)}}}
          promoted: {{use: test.collect, from: gate.network, with: {{path: "{tmp_path / "promoted.txt"}"}}}}
          metrics: {{use: sink.jsonl, with: {{path: "{tmp_path / "metrics.jsonl"}"}}}}
        """)
    )
    registry = load_registry(extra=(network_source,))
    assert "eval.gate" in registry.stage_types, registry.problems
    plan = plan_pipeline(compile_file(spec, registry=registry))
    bus = EventBus()
    result = Runtime(plan, bus=bus, grace=20).run(install_signals=False)
    return result, bus


def promoted(tmp_path) -> list[int]:
    return [int(x) for x in (tmp_path / "promoted.txt").read_text().split()]


@pytest.fixture(scope="module")
def weak_later(nets, tmp_path_factory):
    return write_net(uniform_snapshot(step=300), tmp_path_factory.mktemp("later") / "uniform-300.pb.gz")


def test_gate_promotes_the_stronger_and_refuses_the_weaker(nets, weak_later, tmp_path, capsys):
    ladder = tmp_path / "run" / "ladder.jsonl"
    files = [nets["uniform"], nets["material"], weak_later]
    result, bus = run_gate(tmp_path, files, [100, 200, 300], ladder)
    assert result.exit_code == 0, result.failures
    entries = [json.loads(line) for line in ladder.read_text().splitlines()]
    assert [e["step"] for e in entries] == [100, 200, 300]
    anchor, strong, weak = entries
    assert anchor["rating"] == 0 and anchor["games"] == 0 and anchor["promoted"]
    assert strong["opponent_step"] == 100 and strong["games"] == 4 and strong["score"] > 0.5
    assert strong["passed"] and strong["promoted"] and strong["rating"] == pytest.approx(strong["elo"])
    assert weak["opponent_step"] == 200  # it played the promoted network, not the anchor
    assert weak["score"] < 0.5 and not weak["passed"] and not weak["promoted"]
    assert weak["rating"] == pytest.approx(strong["rating"] + weak["elo"])
    assert strong["wins"] + strong["draws"] + strong["losses"] == 4 and sum(strong["pairs"]) == 2
    assert promoted(tmp_path) == [100, 200]  # the anchor and the stronger network went out
    m = bus.latest_metrics["gate"]
    assert (
        m["gate/best_step"] == 200 and m["gate/passed"] == 0 and m["gate/elo"] == pytest.approx(weak["elo"])
    )
    # the metrics reached a sink through the bus
    sunk = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("gate/elo" in json.dumps(r) for r in sunk)

    # the ladder command prints and draws it
    png = tmp_path / "ladder.png"
    assert main(["ladder", str(ladder.parent), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "anchor" in out and "promoted" in out and "refused" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a restart continues the ladder: the promoted network is the best again
    result, _ = run_gate(tmp_path, [weak_later], [300], ladder)
    assert result.exit_code == 0, result.failures
    again = [json.loads(line) for line in ladder.read_text().splitlines()]
    assert len(again) == 4 and again[3]["opponent_step"] == 200 and not again[3]["promoted"]
    assert promoted(tmp_path) == [100, 200, 200]  # the resumed best went out again


def test_promote_all_only_rates(nets, weak_later, tmp_path):
    ladder = tmp_path / "ladder.jsonl"
    # the Python reference search, kept as engine: python
    result, _ = run_gate(
        tmp_path, [nets["material"], weak_later], [200, 300], ladder, promote="all", engine="python"
    )
    assert result.exit_code == 0, result.failures
    entries = [json.loads(line) for line in ladder.read_text().splitlines()]
    assert not entries[1]["passed"] and entries[1]["promoted"]
    assert promoted(tmp_path) == [200, 300]


def test_ladder_errors(tmp_path, capsys):
    assert main(["ladder", str(tmp_path)]) == 2
    assert "no ladder file" in capsys.readouterr().err
    bad = tmp_path / "ladder.jsonl"
    bad.write_text('{"step": 1, "rating": 0}\nnot json\n')
    assert main(["ladder", str(bad)]) == 2
    assert "ladder.jsonl:2" in capsys.readouterr().err


def test_stage_declaration_is_light_and_its_defaults_validate():
    import ast
    import inspect

    import jsonschema

    from lcpipe.eval import stages

    (st,) = stages.lcpipe_stage_types()
    assert st.name == "eval.gate" and st.input("network").type == "network"
    assert st.output("weights").type == "weights" and not st.output("network").required
    cfg = {k: v["default"] for k, v in st.schema["properties"].items()}
    jsonschema.validate(cfg, st.schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**cfg, "games": 3}, st.schema)  # pairs: an even number of games
    tree = ast.parse(inspect.getsource(stages))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "lcpipe.plugin"}
