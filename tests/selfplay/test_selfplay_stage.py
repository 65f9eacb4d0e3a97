"""The selfplay.mcts stage: schema, network pick-up, determinism, a run through the runtime."""

from __future__ import annotations

import ast
import inspect
import threading
from pathlib import Path

import chess
import jsonschema
import numpy as np
import pytest

from lcpipe.lc0 import chunks
from lcpipe.lc0.encoder import GameHistory, encode
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import LatestChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext
from lcpipe.selfplay import stages
from lcpipe.selfplay.evaluator import NetworkEvaluator
from lcpipe.selfplay.selfplay_stage import SelfPlayStage, game_config, search_config

QUICK = dict(visits=4, max_plies=8, parallel_games=2)


def defaults(**overrides) -> dict:
    (st,) = stages.lcpipe_stage_types()
    cfg = {k: v["default"] for k, v in st.schema["properties"].items()}
    cfg.update(overrides)
    jsonschema.validate(cfg, st.schema)
    return cfg


def run_stage(
    config: dict,
    tmp_path: Path,
    network: LatestChannel | None = None,
    on_path=None,
    bus: EventBus | None = None,
):
    stop = threading.Event()
    paths: list[Path] = []

    def put(name, item):
        paths.append(item)
        if on_path:
            on_path(paths)

    bus = bus or EventBus()
    inputs = {"network": InputPort("network", network, stop)} if network is not None else {}
    out = OutputPort("paths", [], stop, on_put=put)
    ctx = StageContext("selfplay", "selfplay.mcts", config, inputs, {"paths": out}, bus, stop, tmp_path)
    stage = SelfPlayStage(ctx)
    stage.run()
    return stage, paths, bus


def game_id(path: Path) -> int:
    return int(path.name[:-3].rsplit("-", 1)[1])


def test_stage_declaration():
    (st,) = stages.lcpipe_stage_types()
    assert st.name == "selfplay.mcts" and st.outputs[0].type == "paths"
    net = st.input("network")
    assert net.type == "weights" and net.kind == "latest" and not net.required
    for name, prop in st.schema["properties"].items():
        assert "default" in prop and "description" in prop, name
    defaults()  # the defaults validate
    with pytest.raises(jsonschema.ValidationError):
        defaults(visits=1)
    # every setting reaches the search or the game loop
    cfg = defaults(visits=99, cpuct=2.5, temp_cutoff_ply=7, resign_q=0.8, input_format=3)
    assert search_config(cfg).visits == 99 and search_config(cfg).cpuct == 2.5
    assert search_config(cfg).input_format == 3
    assert game_config(cfg).temp_cutoff_ply == 7 and game_config(cfg).resign_q == 0.8
    tree = ast.parse(inspect.getsource(stages))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "lcpipe.plugin"}


def test_stage_writes_games_and_reports_metrics(tmp_path):
    cfg = defaults(out_dir=str(tmp_path / "games"), stop_after_games=3, bootstrap="material", **QUICK)
    _, paths, bus = run_stage(cfg, tmp_path)
    assert len(paths) == 3 and all(p.exists() and p.parent == tmp_path / "games" for p in paths)
    assert sorted(game_id(p) for p in paths) == [0, 1, 2]
    m = bus.latest_metrics["selfplay"]
    assert m["selfplay/games"] == 3 and m["selfplay/network_step"] == -1
    assert m["selfplay/games_per_s"] > 0 and m["selfplay/evals_per_s"] > 0 and m["selfplay/plies_per_s"] > 0
    assert m["selfplay/white_wins"] + m["selfplay/draws"] + m["selfplay/black_wins"] == pytest.approx(1.0)
    assert m["selfplay/avg_game_plies"] == pytest.approx(
        sum(len(a) for p in paths for _, a in chunks.iter_games(p)) / 3
    )


def test_games_are_deterministic_under_a_seed_and_independent_of_batching(tmp_path):
    def played(seed: int, parallel: int, out: Path, batches: int = 2) -> list[bytes]:
        cfg = defaults(
            out_dir=str(out),
            stop_after_games=3,
            bootstrap="material",
            seed=seed,
            network_batches=batches,
            **{**QUICK, "parallel_games": parallel, "max_plies": 12},
        )
        _, paths, _ = run_stage(cfg, tmp_path)
        return [p.read_bytes() for p in sorted(paths, key=game_id)]

    a = played(11, 3, tmp_path / "a")
    assert a == played(11, 3, tmp_path / "b")
    assert a == played(11, 1, tmp_path / "c")  # one game at a time: the same games
    assert a == played(11, 3, tmp_path / "e", batches=1)  # one network batch per round: the same games
    assert a != played(12, 3, tmp_path / "d")


def _start_eval(snapshot) -> tuple[float, float]:
    ev = NetworkEvaluator(snapshot)
    _, wdl, _ = ev([encode(GameHistory().snapshots, -1, 1)], 1)
    return float(wdl[0, 0] - wdl[0, 2]), float(wdl[0, 1])


def test_stage_picks_up_a_newer_network(tmp_path, tiny_snapshots):
    net1, net2 = tiny_snapshots
    channel = LatestChannel("network")
    channel.put(net1)

    def on_path(paths):
        if len(paths) == 2:  # games_per_network=2: the stage now waits for a newer network
            channel.put(net2)

    cfg = defaults(
        out_dir=str(tmp_path), stop_after_games=4, games_per_network=2, wait_for_network=True, **QUICK
    )
    stage, paths, bus = run_stage(cfg, tmp_path, channel, on_path)
    assert stage.evaluator.step == 2 and bus.latest_metrics["selfplay"]["selfplay/network_step"] == 2
    expect = {1: _start_eval(net1), 2: _start_eval(net2)}
    assert expect[1] != pytest.approx(expect[2])
    for p in paths:
        ((_, arr),) = chunks.iter_games(p)
        net = 1 if game_id(p) < 2 else 2
        # the first frame's raw network evaluation is the start position under that game's network
        assert (float(arr["orig_q"][0]), float(arr["orig_d"][0])) == pytest.approx(expect[net], abs=1e-5)
    assert sorted(game_id(p) for p in paths) == [0, 1, 2, 3]


class _WaitWatcher(EventBus):
    """Hands out the second network exactly when the stage says it waits for one (publish runs on the stage's thread)."""

    def __init__(self, channel: LatestChannel, net):
        super().__init__()
        self.channel, self.net, self.seen = channel, net, []

    def publish(self, kind, stage, data):
        super().publish(kind, stage, data)
        if kind == "state" and data["detail"].startswith("for a network newer"):
            self.seen.append((data["detail"], self.latest_metrics["selfplay"]["selfplay/games"]))
            self.channel.put(self.net)


def test_stage_says_when_it_waits_for_a_newer_network(tmp_path, tiny_snapshots):
    """games_per_network reached: the stage's state is 'waiting', with metrics counting every game of that
    network (a paced rl.yaml spends part of each cycle so; the console must not look stuck)."""
    net1, net2 = tiny_snapshots
    channel = LatestChannel("network")
    channel.put(net1)
    bus = _WaitWatcher(channel, net2)
    # a guard only: a stage that never says it waits would otherwise wait for net2 forever
    guard = threading.Timer(120, channel.put, (net2,))

    def on_path(paths):
        if len(paths) == 2:
            guard.start()

    cfg = defaults(
        out_dir=str(tmp_path), stop_after_games=4, games_per_network=2, wait_for_network=True, **QUICK
    )
    try:
        stage, paths, _ = run_stage(cfg, tmp_path, channel, on_path, bus=bus)
    finally:
        guard.cancel()
    assert len(paths) == 4 and stage.evaluator.step == 2
    assert bus.seen == [("for a network newer than step 1 (2 games per network)", 2)]


def test_bad_network_is_reported_and_skipped(tmp_path, tiny_snapshots):
    from dataclasses import replace

    channel = LatestChannel("network")
    channel.put(replace(tiny_snapshots[0], model={"body": "nonsense"}))
    cfg = defaults(out_dir=str(tmp_path), stop_after_games=1, **QUICK)
    stage, paths, bus = run_stage(cfg, tmp_path, channel)
    assert len(paths) == 1 and stage.bad_networks == 1 and stage.evaluator.step == -1
    assert any(e.kind == "log" and "cannot use network" in e.data["message"] for e in bus._history)


def test_batched_network_evaluation_matches_one_by_one(tiny_snapshots):
    ev = NetworkEvaluator(tiny_snapshots[0])
    hist = GameHistory()
    encs = []
    for uci in ("e2e4", "e7e5", "g1f3", "b8c6", "f1b5"):
        hist.push(chess.Move.from_uci(uci))
        encs.append(encode(hist.snapshots, -1, 1))
    logits, wdl, ml = ev(encs, 1)
    for k, e in enumerate(encs):
        l1, w1, m1 = ev([e], 1)
        np.testing.assert_allclose(l1[0], logits[k], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(w1[0], wdl[k], rtol=1e-4, atol=1e-6)
    assert np.allclose(wdl.sum(axis=1), 1.0) and logits.shape == (5, 1858) and ml.shape == (5,)


@pytest.mark.parametrize("engine", ["native", "python"])
def test_restart_continues_numbering_without_duplicate_games(tmp_path, engine):
    out = tmp_path / "games"
    cfg = defaults(out_dir=str(out), stop_after_games=3, bootstrap="material", engine=engine, **QUICK)
    _, first, _ = run_stage(cfg, tmp_path)
    stage, second, bus = run_stage(cfg, tmp_path)  # the same run restarted: same seed, same directory
    assert sorted(game_id(p) for p in first) == [0, 1, 2]
    assert sorted(game_id(p) for p in second) == [3, 4, 5]
    contents = [p.read_bytes() for p in out.iterdir()]
    assert len(contents) == 6 and len(set(contents)) == 6  # no game file is a copy of another
    assert bus.latest_metrics["selfplay"]["selfplay/games"] == 3


def test_native_stage_reports_its_search_share(tmp_path):
    cfg = defaults(out_dir=str(tmp_path), stop_after_games=2, **QUICK)
    stage, paths, bus = run_stage(cfg, tmp_path)
    assert stage.engine_kind == "native" and len(paths) == 2
    assert 0 < bus.latest_metrics["selfplay"]["selfplay/search_share"] <= 1


def test_python_engine_warns_about_native_only_settings(tmp_path):
    cfg = defaults(
        out_dir=str(tmp_path), stop_after_games=1, engine="python", random_opening_plies=4, **QUICK
    )
    _, paths, bus = run_stage(cfg, tmp_path)
    assert len(paths) == 1
    warned = threading.Event()

    def on_log(event):
        if event.data.get("level") == "warning" and "random_opening_plies" in event.data["message"]:
            warned.set()

    bus.subscribe(on_log, kinds={"log"})  # replays the run's events
    assert warned.wait(timeout=30)
