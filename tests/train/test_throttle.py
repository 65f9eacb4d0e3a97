"""The RL throttle: the trainer takes at most max_steps_per_game steps per game
its data source delivered, waiting when it is ahead."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from helpers import TINY_RESNET, make_batch

from lcpipe.loader.progress import GamesDelivered
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import StreamChannel
from lcpipe.runtime.stage import InputPort, OutputPort, StageContext, StageFailed
from lcpipe.train.settings import normalize_settings
from lcpipe.train.throttle import StepThrottle, ThrottleError
from lcpipe.train.train_stage import TrainStage

PROGRAM = {
    "model": TINY_RESNET,
    "schedule": {"lr": 0.01, "warmup_steps": 100},
}


def wait_until(cond, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_games_delivered_only_grows_and_wakes_waiters():
    d = GamesDelivered(3)
    d.advance(2)
    assert d.games == 3
    assert d.wait_for(5, 0.0) == 3
    got = []
    t = threading.Thread(target=lambda: got.append(d.wait_for(5, 30.0)))
    t.start()
    wait_until(lambda: d.waiting == 1)
    d.advance(5)
    t.join(30.0)
    assert got == [5] and d.waiting == 0


def test_throttle_admits_by_ratio_and_refuses_a_source_without_a_count():
    stop = threading.Event()
    th = StepThrottle(2.5, stop, poll_s=0.01)
    assert [th.games_needed(s) for s in (1, 2, 3, 5, 6)] == [1, 1, 2, 2, 3]
    batch = make_batch(2)
    with pytest.raises(ThrottleError, match="loader.chunk_pool"):
        th.admit(1, batch)
    batch.games_delivered = GamesDelivered(2)
    assert th.admit(5, batch)
    stop.set()
    assert not th.admit(6, batch)  # ahead of the games, and the pipeline stops: no step
    assert th.waits == 1


def test_train_now_grant_lets_a_waiting_step_through_and_later_steps_wait_for_their_games():
    stop = threading.Event()
    th = StepThrottle(2.0, stop, poll_s=0.01)
    batch = make_batch(2)
    batch.games_delivered = delivered = GamesDelivered(2)  # 2 games: steps 1..4 allowed
    assert th.admit(4, batch)
    granted, polls = [], []

    def on_poll():  # a client's train_now arrives while step 5 waits: the round up to step 8 goes ahead
        polls.append(1)
        if not granted:
            granted.append(th.grant_until(8))

    assert th.admit(5, batch, on_poll=on_poll)
    assert granted == [4] and th.granted == 4 and polls
    assert all(th.admit(s, batch) for s in (6, 7, 8))
    assert th.games_needed(9) == 3 and th.games_needed(10) == 3  # counted on from the grant
    assert th.grant_until(8) == 0  # already covered: nothing more granted
    waited = threading.Thread(target=lambda: granted.append(th.admit(9, batch)))
    waited.start()
    wait_until(lambda: delivered.waiting == 1)  # step 9 waits for a 3rd game
    delivered.advance(3)
    waited.join(30)
    assert granted[-1] is True and th.metrics(9)["train/throttle_granted_steps"] == 4


def _stage(config, train: StreamChannel, bus: EventBus, stop: threading.Event, tmp_path) -> TrainStage:
    out = StreamChannel("weights", capacity=64)
    ctx = StageContext(
        "train",
        "train.jax",
        config,
        {"train": InputPort("train", train, stop)},
        {"weights": OutputPort("weights", [out], stop)},
        bus,
        stop,
        tmp_path,
    )
    return TrainStage(ctx)


def test_trainer_never_runs_ahead_of_a_slow_source(tmp_path):
    ratio, total = 2, 9
    config = normalize_settings(
        {
            **PROGRAM,
            "total_steps": total,
            "steps_per_network": 0,
            "metrics_every": 1,
            "test_every": 0,
            "max_steps_per_game": ratio,
            "checkpoint": {"every": 0},
        }
    )
    delivered = GamesDelivered(1)
    train = StreamChannel("train", capacity=64)
    for i in range(total + 2):  # plenty of batches: only the games hold the trainer back
        batch = make_batch(8, seed=i % 4)
        batch.games_delivered = delivered
        train.put(batch)
    train.writer_done()
    bus, stop = EventBus(), threading.Event()
    events: queue.Queue = queue.Queue()
    bus.subscribe(events.put, kinds={"state", "metrics"})
    runner = threading.Thread(target=_stage(config, train, bus, stop, tmp_path).run)
    runner.start()
    step, last, states = 0, {}, []

    def next_metrics():
        event = events.get(timeout=120)
        if event.kind == "state" and event.stage == "train":
            states.append(event.data["state"])
        if event.kind == "metrics" and event.stage == "train" and "train/loss" in event.data["values"]:
            return event.data
        return None

    try:
        while step < total:
            # the trainer is held back by the games ...
            wait_until(lambda: delivered.waiting > 0 or not runner.is_alive())
            if not runner.is_alive():
                break
            while step < ratio * delivered.games:  # ... after exactly as many steps as they allow
                m = next_metrics()
                if m:
                    step, last = m["step"], m["values"]
                    assert step <= ratio * delivered.games
            delivered.advance(delivered.games + 1)  # self-play delivers one more game
            wait_until(lambda: delivered.waiting == 0)  # the trainer woke up
        while step < total:
            m = next_metrics()
            if m:
                step, last = m["step"], m["values"]
                assert step <= ratio * delivered.games
    finally:
        stop.set()
        runner.join(120)
    assert not runner.is_alive()
    assert step == total and delivered.games == 5  # 9 steps at 2 per game needed the 5th game
    assert last["train/games_delivered"] == 5 and last["train/steps_per_game"] == pytest.approx(total / 5)
    assert last["train/throttle_waits"] == 4 and last["train/throttle_wait_s"] > 0
    assert states.count("waiting") == 1  # shown once, not once per game


def test_trainer_fails_clearly_on_a_source_that_counts_no_games(tmp_path):
    config = normalize_settings({**PROGRAM, "total_steps": 2, "max_steps_per_game": 1.0})
    train = StreamChannel("train", capacity=4)
    train.put(make_batch(8))
    train.writer_done()
    with pytest.raises(StageFailed, match="max_steps_per_game needs batches"):
        _stage(config, train, EventBus(), threading.Event(), tmp_path).run()


def test_max_steps_per_game_must_not_be_negative():
    with pytest.raises(ValueError, match="max_steps_per_game"):
        normalize_settings({"max_steps_per_game": -1})


LOOP = """
lcpipe: 1
name: throttle
stages:
  files:   {{use: loader.watch, with: {{dir: "{games}", mode: poll, poll_seconds: 0.05, settle_seconds: 0.05}}}}
  sources: {{use: loader.read, from: files}}
  pool:    {{use: loader.chunk_pool, from: sources, with: {{window: 100, min_chunks: 4}}}}
  frames:  {{use: loader.unpack, from: pool, with: {{threads: 1}}}}
  batches: {{use: loader.batch, from: frames, with: {{batch_size: 8}}}}
  train:
    use: train.jax
    from: {{train: batches}}
    with:
      model: {{body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, value_hidden: 8,
               moves_left_channels: 2, moves_left_hidden: 8, policy_type: conv}}
      cpu_devices: 1
      max_steps_per_game: {ratio}
      total_steps: 0
      steps_per_network: 0
      metrics_every: 1
      test_every: 0
      validation_every: 0
      checkpoint: {{dir: "{ckpt}", every: 0, async: false}}
"""


def test_native_loader_feeds_the_throttle_games_as_they_arrive(tmp_path):
    """Games written one at a time into a watched directory: the trainer stays within ratio x games."""
    from lcpipe.compiler import compile_file, plan_pipeline
    from lcpipe.lc0 import synth
    from lcpipe.registry import load_registry
    from lcpipe.runtime.runner import Runtime

    ratio, games_dir = 1.5, tmp_path / "games"
    spec = tmp_path / "spec.yaml"
    spec.write_text(LOOP.format(games=games_dir, ckpt=tmp_path / "ckpt", ratio=ratio))
    plan = plan_pipeline(compile_file(spec, registry=load_registry()))
    synth.write_games(games_dir, 4, seed=0, max_plies=8)  # min_chunks: the first training waits for them
    written = 4
    bus = EventBus()
    events: queue.Queue = queue.Queue()
    bus.subscribe(events.put, kinds={"state", "metrics"})
    rt = Runtime(plan, bus=bus, grace=20)
    results = []
    runner = threading.Thread(target=lambda: results.append(rt.run(install_signals=False)))
    runner.start()
    step, held = 0, 0
    try:
        while held < 4:
            event = events.get(timeout=120)
            if event.stage != "train" or event.kind != "metrics" or "train/loss" not in event.data["values"]:
                continue
            step = event.data["step"]
            assert step <= ratio * written
            if step == int(ratio * written):  # as far as the games allow: the trainer must wait for more
                held += 1
                synth.write_games(games_dir, 1, seed=held, max_plies=8)  # self-play delivers a game
                written += 1
        last = event.data["values"]
    finally:
        rt.request_stop("test done")
        runner.join(120)
    assert results and results[0].exit_code == 0, results and results[0].failures
    assert (
        bus.latest_metrics["native0"]["pool/games_seen"] >= written - 1
    )  # the last one may come after the stop
    assert last["train/throttle_waits"] >= 1 and last["train/steps_per_game"] <= ratio
