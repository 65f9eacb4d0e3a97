"""pipelines/rl.yaml's loader holds few enough positions that the trainer sees new games soon.

Every queue and buffer between a chunk pool and the trainer holds data the
pool chose earlier. With the loader's default queue sizes (tens of
thousands of frames, sized for supervised throughput) the first network's
~500 steps all came from copies of the first 32 games: the pool cycled them
while the queues filled, so the throttle (max_steps_per_game) counted new
games the trainer did not see for minutes, and the test branch evaluated
every network on the first one or two test games for the whole run
(docs/rl-loop.md, "Loader buffers"). These checks bound what the buffers
can hold, from the spec's resolved settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lcpipe.compiler import compile_file
from lcpipe.registry import load_registry

RL = Path(__file__).resolve().parents[2] / "pipelines" / "rl.yaml"


@pytest.fixture(scope="module")
def rl():
    return compile_file(RL, registry=load_registry())


def _config(pipeline, name: str) -> dict:
    return pipeline.graph.nodes[name]["config"]


def _upstream(pipeline, name: str) -> str:
    [src] = [link.src for link in pipeline.links() if link.dst == name]
    return src


def frames_buffered(pipeline, batches: str, trainer_port_capacity: int) -> tuple[int, str]:
    """Most frames that can wait between the chunk pool upstream of ``batches`` and the trainer.

    Walks batch <- (reservoir) <- unpack <- chunk_pool; a chunk counts as
    the most frames unpack takes from one game (sampling rate x max plies).
    Returns (frames, name of the pool).
    """
    max_plies = _config(pipeline, "selfplay")["max_plies"]
    cfg = _config(pipeline, batches)
    total = cfg["queue"]["capacity"] + trainer_port_capacity * cfg["batch_size"]
    stage = _upstream(pipeline, batches)
    while True:
        use = pipeline.graph.nodes[stage]["use"]
        cfg = _config(pipeline, stage)
        if use == "loader.reservoir":
            total += cfg["queue"]["capacity"] + cfg["size"]
        elif use == "loader.unpack":
            total += cfg["queue"]["capacity"] * int(cfg["sampling_rate"] * max_plies + 1)
        elif use == "loader.chunk_pool":
            return total, stage
        else:
            raise AssertionError(f"unexpected stage {stage} ({use}) between the pool and the trainer")
        stage = _upstream(pipeline, stage)


def test_train_buffers_hold_less_than_the_throttles_first_allowance(rl):
    """The trainer may take max_steps_per_game steps per game; on the pool's first min_chunks games that
    is R x min_chunks steps. The loader must not buffer more than that, or games delivered later (which the
    throttle counts) reach the batches only after steps trained on the first games again and again."""
    train = _config(rl, "train")
    queue = rl.graph.nodes["train"]["queue"]
    frames, pool = frames_buffered(rl, "batches", queue["capacity"])
    batch = _config(rl, "batches")["batch_size"]
    allowance = train["max_steps_per_game"] * _config(rl, pool)["min_chunks"]
    assert train["max_steps_per_game"] > 0
    assert frames / batch < allowance, (
        f"the loader can hold {frames} frames ({frames / batch:.0f} steps), more than the "
        f"{allowance} steps the throttle allows on the first games"
    )


def test_test_buffers_hold_less_than_one_evaluation(rl):
    """Each test evaluation must see games the pool chose recently, not copies of the first test game
    queued at the start (the test pool starts on one game and cycles it while its queues fill)."""
    train = _config(rl, "train")
    port = rl.graph.nodes["train"]["queue"]["ports"]["test"]["capacity"]
    frames, _ = frames_buffered(rl, "test_batches", port)
    per_evaluation = train["test_batches"] * _config(rl, "test_batches")["batch_size"]
    assert frames <= per_evaluation, (
        f"the test branch can hold {frames} frames, more than one evaluation ({per_evaluation})"
    )


def test_selfplay_and_trainer_pacing_cannot_deadlock(rl):
    """Self-play starts games_per_network games per network and then waits for the next one; the trainer
    waits for games (max_steps_per_game) and for min_chunks before its first step. The games of one
    network, after the test split took its share, must let the trainer reach the next export, and the
    bootstrap games must start the pool, or each side waits for the other forever."""
    selfplay, train = _config(rl, "selfplay"), _config(rl, "train")
    split, pool = _config(rl, "split"), _config(rl, "pool")
    share = split["train"] / (split["train"] + split["test"] + split["validation"])
    games = selfplay["games_per_network"]
    assert games > 0  # paced: self-play does not flood the window while a loaded machine trains slowly
    # 0.9: the split is a hash of the game's name, so a network's share varies a little (with 64
    # games and a 5% test split, below 90% of its expectation about once in a thousand networks)
    assert pool["min_chunks"] <= 0.9 * share * games
    assert train["steps_per_network"] <= 0.9 * share * games * train["max_steps_per_game"]
