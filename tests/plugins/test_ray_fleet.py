"""selfplay.ray (plugins/lcpipe-ray) on a local Ray cluster: a head without CPUs and two worker
nodes, each a separate raylet with its own worker processes, shared by the file's tests."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import bad_snapshot_source
import pytest

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # before ray is imported (make setup installs it with the plugin)
from ray import cluster_utils as ray_cluster_utils

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.lc0 import chunks
from lcpipe.registry import load_registry
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.runner import Runtime, StopBound

STORE = 80 * 2**20  # a small object store per node: the default takes a share of the machine's memory
TINY_RESNET = (
    "{body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, value_hidden: 8, "
    "moves_left_channels: 2, moves_left_hidden: 8}"
)


@pytest.fixture(scope="module")
def cluster():
    cluster = ray_cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "object_store_memory": STORE, "include_dashboard": False},
    )
    workers = [cluster.add_node(num_cpus=1, object_store_memory=STORE) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, {w.node_id for w in workers}
    cluster.shutdown()


def run_spec(tmp_path: Path, body: str, stop_after=(), during=None, extra=()):
    """Run a spec through the real runtime; ``during(runtime, thread)`` runs in this thread meanwhile."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("lcpipe: 1\nname: fleet\n" + textwrap.dedent(body))
    registry = load_registry(extra=extra)
    assert "selfplay.ray" in registry.stage_types, registry.problems
    plan = plan_pipeline(compile_file(spec, registry=registry))
    bus = EventBus()
    runtime = Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], bus=bus, grace=30)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(runtime.run(install_signals=False)))
    thread.start()
    try:
        if during:
            during(runtime, thread)
    finally:
        thread.join(timeout=300)
    assert result, "the pipeline did not finish"
    return result[0], bus


def stop_when(ledger_path: Path, done, timeout: float = 150.0):
    """A ``during`` for run_spec: stop the run once ``done(ledger lines)`` holds (or at the timeout)."""

    def watch(runtime, thread):
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            if done(read_ledger(ledger_path)):
                break
            time.sleep(0.05)  # polling the ledger for the condition
        runtime.request_stop("test: condition reached or timed out")

    return watch


def read_ledger(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def game_ids(games: Path) -> list[int]:
    return [int(p.name[:-3].rsplit("-", 1)[1]) for p in games.glob("*.gz")]


def test_rl_loop_with_the_fleet_on_two_worker_nodes(cluster, tmp_path):
    c, worker_nodes = cluster
    run = tmp_path / "rl"
    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          play:
            use: selfplay.ray
            from: {{network: train.weights}}
            with:
              out_dir: "{run}/games"
              parallel_games: 2
              visits: 4
              max_plies: 16
              games_per_network: 4
              ray: {{address: "{c.address}", games_per_task: 2, ledger: "{run}/fleet.jsonl"}}
          batches: {{use: data.batches, from: play, with: {{batch_size: 16, shuffle_buffer: 0, passes: 0}}}}
          train:
            use: train.jax
            from: {{train: batches}}
            with:
              model: {TINY_RESNET}
              total_steps: 0
              cpu_devices: 1
              steps_per_network: 3
              test_every: 0
              validation_every: 0
              checkpoint: {{dir: "{run}/ckpt", every: 1000, async: false}}
        """,
        during=stop_when(
            run / "fleet.jsonl",
            lambda ledger: (
                {g["node"] for g in ledger} == worker_nodes
                and any(g["network_step"] >= 3 for g in ledger)
                and len(ledger) >= 8
            ),
        ),
    )
    assert result.exit_code == 0, result.failures
    assert result.counts["train.weights"] >= 1
    m = bus.latest_metrics["play"]
    assert m["selfplay/network_step"] >= 3  # the actors moved on to a trained network
    ledger = read_ledger(run / "fleet.jsonl")
    assert {g["node"] for g in ledger} == worker_nodes  # games from both worker nodes
    assert any(g["network_step"] >= 3 for g in ledger)
    # each network went into the object store once; only the networks the trainer made
    assert 1 <= m["selfplay/network_puts"] <= result.counts["train.weights"]
    ids = game_ids(run / "games")
    assert len(ids) >= 8 and len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(g["game"] for g in ledger)
    frames = chunks.read_frames(sorted((run / "games").glob("*.gz")))
    assert len(frames) >= 8


def test_killing_an_actor_mid_game_loses_and_duplicates_nothing(cluster, tmp_path):
    c, worker_nodes = cluster
    games, ledger_path = tmp_path / "games", tmp_path / "fleet.jsonl"
    killed: list[int] = []

    def kill_one_actor_then_stop(runtime, thread):
        deadline = time.monotonic() + 120
        while thread.is_alive() and time.monotonic() < deadline:
            ledger = read_ledger(ledger_path)
            pids = {g["actor_pid"] for g in ledger}
            if killed and len(pids) == 3 and len(ledger) >= 12:  # the replacement delivered too: done
                runtime.request_stop("test: enough games")
                return
            last = ledger[-1] if ledger else None
            # both actors have delivered, and the last one's block of 4 ids still has games running
            if not killed and len(pids) == 2 and sum(g["game"] // 4 == last["game"] // 4 for g in ledger) < 4:
                killed.append(last["actor_pid"])
                os.kill(killed[0], signal.SIGKILL)
            time.sleep(0.05)  # polling the ledger for the conditions above

    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          play:
            use: selfplay.ray
            with:
              out_dir: "{games}"
              parallel_games: 2
              visits: 48
              max_plies: 60
              bootstrap: material
              ray: {{address: "{c.address}", games_per_task: 4, ledger: "{ledger_path}"}}
          read: {{use: data.batches, from: play, with: {{batch_size: 64, shuffle_buffer: 0, passes: 1}}}}
        """,
        during=kill_one_actor_then_stop,
    )
    assert result.exit_code == 0, result.failures
    assert killed, (result, bus.latest_metrics)
    m = bus.latest_metrics["play"]
    assert m["selfplay/actor_failures"] == 1 and m["selfplay/duplicates"] == 0
    ledger = read_ledger(ledger_path)
    pids = [g["actor_pid"] for g in ledger]
    assert killed[0] in pids  # the killed actor's finished games were kept
    assert len(set(pids)) == 3  # and a new actor replaced it
    assert {g["node"] for g in ledger} == worker_nodes
    ids = game_ids(games)
    assert len(ids) >= 12 and len(set(ids)) == len(ids)  # no id twice
    assert sorted(ids) == sorted(g["game"] for g in ledger) and m["selfplay/games"] == len(ids)
    # every id handed out was written once or dropped (unfinished when its actor died or the run stopped)
    assert max(ids) < m["selfplay/game_ids"] == len(ids) + m["selfplay/games_dropped"]


def test_actors_write_to_shared_storage(cluster, tmp_path):
    c, worker_nodes = cluster
    games, ledger_path = tmp_path / "games", tmp_path / "fleet.jsonl"
    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          play:
            use: selfplay.ray
            with:
              out_dir: "{games}"
              parallel_games: 2
              visits: 4
              max_plies: 12
              stop_after_games: 4
              ray: {{address: "{c.address}", games_per_task: 1, write_on: actors, ledger: "{ledger_path}"}}
          read: {{use: data.batches, from: play, with: {{batch_size: 64, shuffle_buffer: 0, passes: 1}}}}
        """,
    )
    assert result.exit_code == 0, result.failures
    ledger = read_ledger(ledger_path)
    assert sorted(game_ids(games)) == sorted(g["game"] for g in ledger) == [0, 1, 2, 3]
    assert {g["node"] for g in ledger} <= worker_nodes  # played (and written) by the actors
    assert all(len(chunks.read_frames([games / g["path"]])) > 0 for g in ledger)


def test_a_network_the_actors_cannot_run_is_reported_and_play_goes_on(cluster, tmp_path):
    c, _ = cluster
    games = tmp_path / "games"
    result, bus = run_spec(
        tmp_path,
        f"""
        stages:
          net: {{use: test.bad_snapshot}}
          play:
            use: selfplay.ray
            from: {{network: net}}
            with:
              out_dir: "{games}"
              parallel_games: 2
              visits: 4
              max_plies: 12
              stop_after_games: 4
              wait_for_network: true
              ray: {{address: "{c.address}", actors: 1, games_per_task: 2}}
        """,
        extra=(bad_snapshot_source,),
    )
    assert result.exit_code == 0, result.failures
    m = bus.latest_metrics["play"]
    assert m["selfplay/bad_networks"] == 1 and m["selfplay/network_step"] == -1  # back to the bootstrap
    assert m["selfplay/actor_failures"] == 0 and m["selfplay/games_dropped"] == 2  # the failed task's ids
    assert len(game_ids(games)) == 4 and m["selfplay/games"] == 4
