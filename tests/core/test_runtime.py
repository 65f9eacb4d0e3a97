"""The runtime executes compiled plans for real: data flows, stops, fails cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.runtime.runner import Runtime, StopBound

HERE = Path(__file__).parent


def write_spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text("lcpipe: 1\nname: t\n" + textwrap.dedent(body))
    return path


def run_spec(path: Path, registry, stop_after=(), **kw):
    plan = plan_pipeline(compile_file(path, registry=registry))
    return Runtime(plan, stop_after=[StopBound.parse(s) for s in stop_after], grace=10, **kw).run(
        install_signals=False
    )


def test_linear_pipeline_delivers_every_item_in_order(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 200}}}}
          x3: {{use: toy.scale, from: src, with: {{factor: 3}}, queue: {{capacity: 2}}}}
          sink: {{use: toy.collect, from: x3, with: {{path: "{out}"}}}}
        """,
    )
    result = run_spec(spec, registry)
    assert result.exit_code == 0, result.failures
    assert json.loads(out.read_text())["seen"] == [3 * i for i in range(200)]
    assert result.counts["src.numbers"] == 200


def test_many_input_port_merges_all_writers(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          a: {{use: toy.count, with: {{limit: 50}}}}
          b: {{use: toy.count, with: {{limit: 30}}}}
          both: {{use: toy.scale, from: [a, b], with: {{factor: 1}}}}
          sink: {{use: toy.collect, from: both, with: {{path: "{out}"}}}}
        """,
    )
    assert run_spec(spec, registry).exit_code == 0
    assert sorted(json.loads(out.read_text())["seen"]) == sorted(list(range(50)) + list(range(30)))


def test_failing_stage_stops_pipeline_and_is_named(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 0, fail_at: 5}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """,
    )
    result = run_spec(spec, registry)
    assert result.exit_code == 1
    assert result.failures == [("src", "asked to fail at 5")]
    # downstream drained what was produced and finished normally
    assert json.loads(out.read_text())["seen"] == [0, 1, 2, 3, 4]


def test_prepare_runs_before_any_stage_starts(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.prepared, with: {{token: abcde}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """,
    )
    result = run_spec(spec, registry)
    assert result.exit_code == 0, result.failures
    assert json.loads(out.read_text())["seen"] == [5]


def test_failing_prepare_fails_the_run_before_anything_starts(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.prepared, with: {{prepare_fails: true}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """,
    )
    result = run_spec(spec, registry)
    assert result.exit_code == 1
    assert result.failures == [("src", "prepare failed: RuntimeError: cannot prepare")]
    assert not out.exists()  # the collector never ran


def test_stop_bound_on_a_port_stops_an_endless_pipeline(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 0}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """,
    )
    result = run_spec(spec, registry, stop_after=["src.numbers=1000"])
    assert result.exit_code == 0
    assert "src.numbers=1000" in result.reason
    seen = json.loads(out.read_text())["seen"]
    assert seen[:1000] == list(range(1000))


def test_cycle_through_latest_edge_runs(tmp_path, registry):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 100, delay: 0.001}}}}
          sink: {{use: toy.collect, from: {{numbers: src, hint: back}}, with: {{path: "{out}"}}}}
          back: {{use: toy.scale, from: sink.feedback, with: {{factor: -1}}}}
        """,
    )
    result = run_spec(spec, registry)
    assert result.exit_code == 0, result.failures
    data = json.loads(out.read_text())
    assert data["seen"] == list(range(100))
    hints = [h for h in data["hints"] if h is not None]
    assert hints and all(h <= 0 for h in hints)  # fed back through the latest edge
    assert hints[-1] < -50  # and kept up with the stream


def test_metrics_reach_subscribers(tmp_path, registry):
    out = tmp_path / "out.json"
    metrics = tmp_path / "m.jsonl"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 20}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
          log: {{use: sink.jsonl, with: {{path: "{metrics}", flush_every: 0}}}}
        """,
    )
    assert run_spec(spec, registry).exit_code == 0
    lines = [json.loads(l) for l in metrics.read_text().splitlines()]
    received = [l["values"]["received"] for l in lines if l["kind"] == "metrics" and l["stage"] == "sink"]
    assert received[-1] == 20.0
    states = {(l["stage"], l["state"]) for l in lines if l["kind"] == "state"}
    assert ("src", "finished") in states


def _cli_env():
    env = dict(os.environ)
    env["LCPIPE_EXTRA_PLUGINS"] = "toy_stages"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_with_exit_code(tmp_path, sig, code):
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 0, delay: 0.001}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "lcpipe.cli.main", "run", str(spec)],
        env=_cli_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_start = []
    for line in proc.stderr:  # wait until the pipeline really runs
        seen_start.append(line)
        if "started" in line:
            break
    assert any("started" in l for l in seen_start), "".join(seen_start)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "received SIG" in err
    assert json.loads(out.read_text())["seen"][:10] == list(range(10))  # the sink finished its work


def test_per_port_queue_overflow_never_blocks_the_writer(tmp_path, registry):
    """A full keep_newest queue drops the oldest items instead of stalling its writer."""
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 300}}}}
          slow: {{use: toy.scale, from: src, with: {{factor: 1}}}}
          sink:
            use: toy.collect
            from: slow
            with: {{path: "{out}"}}
            queue: {{ports: {{numbers: {{capacity: 3, overflow: keep_newest}}}}}}
        """,
    )
    plan = plan_pipeline(compile_file(spec, registry=registry))
    runtime = Runtime(plan, grace=10)
    result = runtime.run(install_signals=False)
    assert result.exit_code == 0
    seen = json.loads(out.read_text())["seen"]
    assert seen == sorted(seen) and seen[-1] == 299  # newest kept, order preserved
    channel = runtime._channels[("sink", "numbers")]
    assert channel.capacity == 3 and channel.overflow == "keep_newest"
    assert len(seen) + channel.dropped == 300


def test_finished_reader_releases_its_blocked_writer_and_the_run_ends(tmp_path, registry):
    """An endless producer blocked on a full queue whose only reader has finished (a trainer at
    total_steps behind an endless chunk_pool) is released: the run ends by itself, exit 0."""
    out = tmp_path / "out.json"
    spec = write_spec(
        tmp_path,
        f"""
        stages:
          src: {{use: toy.count, with: {{limit: 0}}}}
          take: {{use: toy.take, from: src, with: {{count: 5, path: "{out}"}}, queue: {{capacity: 2}}}}
        """,
    )
    started = time.monotonic()
    result = run_spec(spec, registry)
    assert result.exit_code == 0, result.failures
    assert result.reason == "finished" and time.monotonic() - started < 8  # not the 10 s grace
    assert json.loads(out.read_text())["seen"] == [0, 1, 2, 3, 4]


def test_stream_channel_refuses_writes_once_its_reader_is_done():
    import threading

    from lcpipe.runtime.channels import StreamChannel

    ch = StreamChannel("c", capacity=1)
    assert ch.put(1)
    results = []
    writer = threading.Thread(target=lambda: results.append(ch.put(2)))  # blocks: the queue is full
    writer.start()
    ch.reader_done()
    writer.join(timeout=10)
    assert results == [False] and not ch.put(3) and len(ch) == 0


def _catches_sigterm(pid: int) -> bool:
    """The process has installed its own SIGTERM handler (SigCgt in /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_before_the_runtime_starts_exits_quietly(sig, code):
    """Ctrl-C or SIGTERM while lcpipe is still starting (importing, compiling the spec): the
    handling is installed at process start, so the exit is orderly, without a traceback."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lcpipe.cli.main",
            "run",
            str(HERE.parents[1] / "pipelines" / "quickstart.yaml"),
            "--stop-after",
            "batches=1",
        ],
        env=_cli_env(),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _catches_sigterm(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline, "lcpipe never installed its handlers"
        time.sleep(0.001)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert "started" not in err and ("interrupted" in err or "terminated" in err)  # before the runtime
