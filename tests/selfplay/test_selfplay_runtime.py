"""selfplay.mcts inside the real runtime: fed by a network stage, and closing the RL loop with train.jax."""

from __future__ import annotations

import textwrap
from pathlib import Path

import snapshot_source

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.lc0 import chunks
from lcpipe.registry import load_registry
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.runner import Runtime, StopBound


def run_spec(tmp_path: Path, body: str, stop_after=()):
    spec = tmp_path / "spec.yaml"
    spec.write_text("lcpipe: 1\nname: sp\n" + textwrap.dedent(body))
    registry = load_registry(extra=(snapshot_source,))
    assert "selfplay.mcts" in registry.stage_types, registry.problems
    plan = plan_pipeline(compile_file(spec, registry=registry))
    bus = EventBus()
    result = Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], bus=bus, grace=20).run(
        install_signals=False
    )
    return result, bus


def test_selfplay_plays_with_a_resnet_snapshot_in_the_runtime(tmp_path):
    games = tmp_path / "games"
    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          net: {{use: test.snapshot, with: {{body: resnet, step: 7}}}}
          play:
            use: selfplay.mcts
            from: {{network: net}}
            with: {{out_dir: "{games}", stop_after_games: 2, parallel_games: 2, visits: 4, max_plies: 10,
                    wait_for_network: true}}
        """,
    )
    assert result.exit_code == 0, result.failures
    files = sorted(games.glob("*.gz"))
    assert len(files) == 2 and result.counts["play.paths"] == 2
    frames = chunks.read_frames(files)
    assert 2 <= len(frames) <= 20 and not (frames["orig_d"] == frames["orig_d"][0]).all()
    assert bus.latest_metrics["play"]["selfplay/network_step"] == 7


def test_rl_loop_selfplay_train_selfplay(tmp_path):
    """Games -> batches -> train.jax -> weights back into self-play (a cycle through a latest edge)."""
    run = tmp_path / "rl"
    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          play:
            use: selfplay.mcts
            from: {{network: train.weights}}
            with: {{out_dir: "{run}/games", parallel_games: 4, visits: 4, max_plies: 16, games_per_network: 4}}
          batches: {{use: data.batches, from: play, with: {{batch_size: 16, shuffle_buffer: 0, passes: 0}}}}
          train:
            use: train.jax
            from: {{train: batches}}
            with:
              model: {{body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, value_hidden: 8,
                       moves_left_channels: 2, moves_left_hidden: 8}}
              total_steps: 0
              steps_per_network: 3
              test_every: 0
              validation_every: 0
              checkpoint: {{dir: "{run}/ckpt", every: 1000, async: false}}
        """,
        stop_after=["play.paths=12"],
    )
    assert result.exit_code == 0, result.failures
    assert result.counts["train.weights"] >= 1
    m = bus.latest_metrics["play"]
    assert m["selfplay/network_step"] >= 3  # self-play moved on to a trained network
    assert len(list((run / "games").glob("*.gz"))) >= 12
