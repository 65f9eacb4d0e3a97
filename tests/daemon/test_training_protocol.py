"""A scripted client trains through `lcpipe daemon`: progress, networks, train_now, export_now, stop.

The pipeline is the RL loop's trainer half on real data: synthetic lc0 games in
a watched directory, the native loader, train.jax throttled to one step per
game, export.lc0. No self-play writes more games, so the trainer is held at
the games' limit until a client sends train_now.
"""

from __future__ import annotations

from pathlib import Path

from daemon_testlib import check_message

from lcpipe.lc0 import synth

SPEC = """
lcpipe: 1
name: train-daemon
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
      max_steps_per_game: 1
      total_steps: 0
      steps_per_network: 6
      metrics_every: 1
      test_every: 0
      validation_every: 0
      checkpoint: {{dir: "{ckpt}", every: 0, async: false}}
  export:
    use: export.lc0
    from: train
    with: {{path: "{nets}/net-{{step:04d}}.pb.gz", encoding: float32}}
"""

GAMES = 4  # with max_steps_per_game 1: the trainer may take 4 steps, then waits for a 5th game


def _spec(tmp_path: Path) -> Path:
    games = tmp_path / "games"
    synth.write_games(games, GAMES, seed=0, max_plies=8)
    spec = tmp_path / "train.yaml"
    spec.write_text(SPEC.format(games=games, ckpt=tmp_path / "ckpt", nets=tmp_path / "nets"))
    return spec


def test_client_trains_exports_now_trains_now_and_stops(daemon, tmp_path):
    daemon.send({"type": "start", "spec": str(_spec(tmp_path)), "id": "go"})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "go")

    # held at the games' limit: step 4 of the round that ends with the network at step 6
    daemon.wait_for(
        lambda m: (
            m["type"] == "state"
            and m["stage"] == "train"
            and m["state"] == "waiting"
            and "1 more game" in m["detail"]
        ),
        timeout=300,
    )
    held = daemon.wait_for(lambda m: m["type"] == "progress" and m["step"] == GAMES)
    assert held["stage"] == "train" and held["next_network"] == 6 and held["total_steps"] is None

    # export_now while the trainer waits: the current weights go out at once
    daemon.send({"type": "export_now", "id": "x"})
    ack = daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "x")
    assert ack["detail"]["stages"] == ["train"]
    first = daemon.wait_for(lambda m: m["type"] == "network")
    assert first["step"] == GAMES and first["stage"] == "export" and Path(first["path"]).is_file()

    # train_now: the rest of the round (steps 5 and 6) trains without new games; its network follows
    daemon.send({"type": "train_now", "stage": "train", "id": "t"})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "t")
    second = daemon.wait_for(lambda m: m["type"] == "network" and m["step"] != GAMES)
    assert second["step"] == 6 and Path(second["path"]).is_file()
    daemon.wait_for(lambda m: m["type"] == "progress" and m["step"] == 6 and m["next_network"] == 12)

    # export_now at a step already out writes nothing new
    daemon.send({"type": "export_now", "id": "again"})
    daemon.wait_for(lambda m: m["type"] == "log" and "is out already" in m["message"])

    daemon.send({"type": "stop", "id": "s"})
    done = daemon.wait_for(lambda m: m["type"] == "pipeline" and m["event"] == "finished", timeout=300)
    assert done["exit_code"] == 0
    daemon.send({"type": "shutdown"})
    daemon.wait_for(lambda m: m["type"] == "bye")
    assert daemon.proc.wait(60) == 0

    networks = [m for m in daemon.messages if m["type"] == "network"]
    assert [m["step"] for m in networks] == [GAMES, 6]  # each once; no extra one on the stop (step 6 is out)
    assert sorted(p.name for p in (tmp_path / "nets").glob("*.pb.gz")) == ["net-0004.pb.gz", "net-0006.pb.gz"]
    steps = [m["step"] for m in daemon.messages if m["type"] == "progress"]
    assert steps == sorted(steps) and max(steps) == 6  # never beyond what the games and train_now allow
    assert not daemon.raw_errors
    for msg in daemon.messages:
        check_message(msg)


def test_commands_reach_only_stages_that_accept_them(daemon, tmp_path):
    daemon.send({"type": "start", "spec": str(_spec(tmp_path)), "id": "go"})
    daemon.wait_for(lambda m: m["type"] == "ack" and m.get("id") == "go")
    daemon.send({"type": "train_now", "stage": "export", "id": 1})
    err = daemon.wait_for(lambda m: m["type"] == "error" and m.get("id") == 1)
    assert err["code"] == "state" and "train_now" in err["message"]
    daemon.send({"type": "shutdown"})
    daemon.wait_for(lambda m: m["type"] == "bye", timeout=300)
    for msg in daemon.messages:
        check_message(msg)
