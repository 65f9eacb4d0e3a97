"""selfplay.ray's declaration (no cluster): selfplay.mcts's settings and ports, and rl-ray.yaml
is rl.yaml with only the self-play stage's `use:` changed."""

from __future__ import annotations

from pathlib import Path

from lcpipe.compiler import compile_file
from lcpipe.registry import load_registry
from lcpipe.settings import fill_defaults, run_checks

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"


def test_fleet_stage_takes_selfplay_mcts_settings_and_ports():
    registry = load_registry()
    fleet, mcts = registry.stage_types["selfplay.ray"], registry.stage_types["selfplay.mcts"]
    assert fleet.plugin == "ray"
    own = set(fleet.schema["properties"])
    assert own == (set(mcts.schema["properties"]) - {"engine"}) | {"ray"}
    for name in own - {"ray"}:
        assert fleet.schema["properties"][name] == mcts.schema["properties"][name], name
    assert [(p.name, p.type, p.kind) for p in fleet.inputs] == [(p.name, p.type, p.kind) for p in mcts.inputs]
    assert [(p.name, p.type) for p in fleet.outputs] == [(p.name, p.type) for p in mcts.outputs]


def test_rl_ray_differs_from_rl_only_in_the_selfplay_stage_type():
    registry = load_registry()
    rl = compile_file(PIPELINES / "rl.yaml", ["vars.run=runs/x"], registry=registry).graph
    fleet = compile_file(PIPELINES / "rl-ray.yaml", ["vars.run=runs/x"], registry=registry).graph
    assert set(rl.nodes) == set(fleet.nodes) and set(rl.edges) == set(fleet.edges)
    assert rl.nodes["selfplay"]["use"] == "selfplay.mcts" and fleet.nodes["selfplay"]["use"] == "selfplay.ray"
    config = fleet.nodes["selfplay"]["config"]
    assert {k: v for k, v in config.items() if k != "ray"} == {
        k: v for k, v in rl.nodes["selfplay"]["config"].items() if k != "engine"
    }
    assert config["ray"]["address"] == "local" and config["ray"]["actors"] == 0
    for name in set(rl.nodes) - {"selfplay"}:
        assert rl.nodes[name]["config"] == fleet.nodes[name]["config"], name


def test_fractional_cpus_above_one_are_refused_at_validate_time():
    registry = load_registry()
    fleet = registry.stage_types["selfplay.ray"]
    config = fill_defaults(fleet.schema, {"ray": {"cpus_per_actor": 1.5}})
    (problem,) = run_checks(fleet.checks, config)
    assert problem.path == ("ray", "cpus_per_actor") and "whole number" in problem.message
    assert run_checks(fleet.checks, fill_defaults(fleet.schema, {"ray": {"cpus_per_actor": 0.5}})) == []
    assert run_checks(fleet.checks, fill_defaults(fleet.schema, {"ray": {"cpus_per_actor": 2}})) == []
