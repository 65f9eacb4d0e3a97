"""A loader segment says in its state what it waits for: a games directory that self-play has not
created yet (quietly: no warning), then the games its pool needs before the first batch."""

from __future__ import annotations

import queue
import threading

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.lc0 import synth
from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.runner import Runtime

SPEC = """
lcpipe: 1
name: waits
stages:
  files:   {{use: loader.watch, with: {{dir: "{games}", mode: {mode}, poll_seconds: 0.05, settle_seconds: 0.05}}}}
  sources: {{use: loader.read, from: files}}
  pool:    {{use: loader.chunk_pool, from: sources, with: {{window: 100, min_chunks: 3}}}}
  frames:  {{use: loader.unpack, from: pool, with: {{threads: 1}}}}
  batches: {{use: loader.batch, from: frames, with: {{batch_size: 8}}}}
  sink:    {{use: test.batch_sink, from: batches, with: {{path: "{out}"}}}}
  console: {{use: sink.console, with: {{interval: 0.2, stream: stdout}}}}
"""


def _next_state(events: queue.Queue, stage: str) -> dict:
    while True:
        event = events.get(timeout=120)
        if event.kind == "state" and event.stage == stage and event.data["state"] in ("waiting", "running"):
            return event.data


def test_waits_for_the_directory_then_for_games_in_words(tmp_path, registry, capsys):
    games = tmp_path / "selfplay" / "games"  # self-play creates it later
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(games=games, mode="inotify", out=tmp_path / "sink.json"))
    plan = plan_pipeline(compile_file(spec, registry=registry))
    segment = next(s.name for s in plan.segments if s.native)
    bus = EventBus()
    events: queue.Queue = queue.Queue()
    bus.subscribe(events.put, kinds={"state", "log", "metrics"})
    rt = Runtime(plan, bus=bus, grace=20)
    results = []
    runner = threading.Thread(target=lambda: results.append(rt.run(install_signals=False)))
    runner.start()
    try:
        states = [_next_state(events, segment)]
        while states[-1]["state"] != "waiting":
            states.append(_next_state(events, segment))
        assert states[-1]["detail"] == f"for {games} to appear"
        synth.write_games(games, 1, seed=0, max_plies=8)
        waiting = _next_state(events, segment)
        assert waiting == {"state": "waiting", "detail": "for 2 more games before pool starts (min_chunks 3)"}
        synth.write_games(games, 2, seed=1, max_plies=8)
        assert _next_state(events, segment)["state"] == "running"
        while True:  # batches flow
            event = events.get(timeout=120)
            if event.kind == "metrics" and event.data["values"].get("batches/out", 0) > 0:
                break
    finally:
        rt.request_stop("test done")
        runner.join(120)
    assert results and results[0].exit_code == 0, results and results[0].failures
    logged = []
    while not events.empty():
        event = events.get()
        if event.kind == "log":
            logged.append(event.data)
    assert not [e for e in logged if e["level"] == "warning"], logged
    out = capsys.readouterr().out
    assert f"waiting (for {games} to appear)" in out  # the console shows the wait in words
    assert "cannot read directory" not in out


def test_train_now_ends_a_pools_wait_for_new_games(tmp_path):
    """wait_for_new: after chunks_per_anchor chunks the pool waits for new games; a client's
    train_now ends that wait at once (the anchor moves), and the next round waits again."""
    import time

    from loader_testlib import build_chain

    paths = synth.write_games(tmp_path / "g", 4, seed=3, max_plies=4)
    stages = [
        ("loader.read", {}),
        ("loader.chunk_pool", {"window": 100, "wait_for_new": 3, "chunks_per_anchor": 6, "min_chunks": 4}),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1, "queue": {"capacity": 100000, "overflow": "block"}}),
    ]
    seg, qin, qout = build_chain(stages)
    seg.start()

    def settle(cond, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not cond(seg.stats()):
            assert time.monotonic() < deadline, seg.stats()
            time.sleep(0.02)
        return seg.stats()

    try:
        for p in paths:
            while seg.push_path(qin, str(p), 0.1) == 0:
                pass
        first = settle(lambda s: s["s1_chunk_pool/anchor_waiting"] == 1)  # 6 chunks out, then the wait
        assert first["s1_chunk_pool/out"] == 6
        time.sleep(0.3)
        assert seg.stats()["s1_chunk_pool/out"] == 6  # no new games: it stays put
        assert seg.command("train_now") == ["s1_chunk_pool"]
        again = settle(lambda s: s["s1_chunk_pool/out"] >= 12 and s["s1_chunk_pool/anchor_waiting"] == 1)
        assert again["s1_chunk_pool/out"] == 12  # one more round of 6, then waiting again
        assert seg.command("export_now") == []  # not a loader command
    finally:
        seg.stop()
