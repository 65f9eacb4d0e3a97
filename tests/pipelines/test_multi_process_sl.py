"""pipelines/sl.yaml over two processes (loopback coordinator, one CPU device each): a process
killed after a checkpoint stops its peer with a message naming it, a restart of both resumes
from that checkpoint, and the networks are those of one process with two devices training on
the same global batches (docs/scaling.md)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lcpipe.train.cpu_devices import SINGLE_THREAD_FLAGS

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "lc0-selfplay"

SMALL = [
    "stages.train.with.model={body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, "
    "value_hidden: 8, moves_left_channels: 2, moves_left_hidden: 8, policy_type: conv}",
    "stages.batches.with.batch_size=64",  # the global batch: 32 per process
    "stages.shuffled.with.size=2000",
    "stages.frames.with.threads=1",
    "stages.sources.with.threads=1",
    "stages.train.with.test_every=0",  # process 0's shard may hold no test game at all
    "stages.train.with.steps_per_network=4",
    "stages.train.with.total_steps=8",
    "stages.train.with.checkpoint.every=4",
    "stages.console.with.interval=3600",
    "vars.epochs=100",
]
KILL_AFTER_STEP = 4
HEARTBEAT_S = 10
# Process 0's shard and process 1's shard, each read by its own loader branch in one process: the
# branch of shard 1 repeats sl.yaml's loader stages (with the SMALL values), and pairs.join puts
# one batch of each together.
REFERENCE_SPEC = """\
lcpipe: 1
extends: {sl}
name: sl
stages:
  split: {{with: {{shards: 2, shard: 0}}}}
  files1: {{use: loader.watch, with: {{dir: "${{data}}", follow: false}}}}
  sources1: {{use: loader.read, from: files1, with: {{threads: 1}}}}
  split1: {{use: loader.split, from: sources1, with: {{train: 0.95, test: 0.05, shards: 2, shard: 1}}}}
  chunks1:
    use: loader.chunk_pool
    from: split1.train
    with: {{window: 100000000, passes: "${{epochs}}", start_after_idle_seconds: 0}}
  frames1: {{use: loader.unpack, from: chunks1, with: {{sampling_rate: 1.0, threads: 1}}}}
  shuffled1: {{use: loader.reservoir, from: frames1, with: {{size: 2000, min_fill: 0.5}}}}
  batches1: {{use: loader.batch, from: shuffled1, with: {{batch_size: 32, drop_last: true}}}}
  pairs: {{use: pairs.join, from: {{first: batches, second: batches1}}}}
  train: {{from: {{train: pairs, test: test_batches}}}}
"""


@pytest.fixture(scope="module")
def jax_cache(tmp_path_factory) -> Path:
    """An XLA compilation cache for the module's runs (the killed and the restarted pair compile
    the same programs), or the suite's (LCPIPE_TEST_JAX_CACHE, as in tests/train)."""
    shared = os.environ.get("LCPIPE_TEST_JAX_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("jax_cache")


def env(jax_cache: Path) -> dict[str, str]:
    """The compilation cache; the test plugin; the CPU."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), out.get("PYTHONPATH", "")])
    out["LCPIPE_EXTRA_PLUGINS"] = "batch_pairs"
    out["JAX_PLATFORMS"] = "cpu"
    out.update(
        JAX_COMPILATION_CACHE_DIR=str(jax_cache),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    # one device per process (or the reference's two) by cpu_devices, not by XLA_FLAGS; every
    # device single-threaded as cpu_devices > 1 makes them (Eigen's threads change the order of
    # a convolution's sums, and with it the last bits)
    flags = [f for f in out.get("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
    out["XLA_FLAGS"] = " ".join([*flags, *SINGLE_THREAD_FLAGS])
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """One real lc0 tar (80 games), linked, not copied."""
    if not (FIXTURES / "selfplay-fmt1.tar").is_file():
        pytest.fail(f"the lc0 fixtures are missing: {FIXTURES}")
    out = tmp_path_factory.mktemp("data")
    (out / "selfplay-fmt1.tar").symlink_to(FIXTURES / "selfplay-fmt1.tar")
    return out


def command(spec: Path, run_dir: Path, data: Path, devices: int, *extra: str, sets=()) -> list[str]:
    """The run; ``sets``: --set items after the common ones (later ones win)."""
    cmd = [sys.executable, "-m", "lcpipe.cli.main", "run", str(spec)]
    for item in [
        f"vars.data={data}",
        f"vars.run={run_dir}",
        *SMALL,
        f"stages.train.with.cpu_devices={devices}",
        *sets,
    ]:
        cmd += ["--set", item]
    return [*cmd, *extra]


def process_flags(port: int, index: int) -> list[str]:
    return [
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        str(index),
        "--heartbeat-timeout",
        str(HEARTBEAT_S),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def networks(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "nets").glob("*.pb.gz"))}


def checkpoint_steps(run_dir: Path) -> list[int]:
    ckdir = run_dir / "checkpoints"
    return sorted(int(p.name) for p in ckdir.iterdir() if p.name.isdigit()) if ckdir.is_dir() else []


def start_pair(run_dir: Path, data: Path, logs: list[Path], jax_cache: Path) -> list[subprocess.Popen]:
    port = free_port()
    spec = REPO / "pipelines" / "sl.yaml"
    return [
        subprocess.Popen(
            command(spec, run_dir, data, 1, *process_flags(port, i)),
            stdout=subprocess.DEVNULL,
            stderr=logs[i].open("w"),
            env=env(jax_cache),
        )
        for i in range(2)
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data, jax_cache) -> dict[str, bytes]:
    """The networks of one process with two devices, each device fed one shard's half batch."""
    work = tmp_path_factory.mktemp("one")
    spec = work / "reference.yaml"
    spec.write_text(REFERENCE_SPEC.format(sl=REPO / "pipelines" / "sl.yaml"))
    done = subprocess.run(
        command(spec, work / "run", data, 2, sets=["stages.batches.with.batch_size=32"]),  # one shard's half
        capture_output=True,
        text=True,
        timeout=600,
        env=env(jax_cache),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "training on 2 cpu devices" in done.stderr
    return networks(work / "run")


@pytest.fixture(scope="module")
def killed_and_restarted(tmp_path_factory, data, jax_cache) -> dict:
    """Two processes; process 1 killed with SIGKILL once a checkpoint of KILL_AFTER_STEP is on
    disk; then both started again and run to the end."""
    work = tmp_path_factory.mktemp("two")
    run_dir = work / "run"
    logs = [work / "killed0.log", work / "killed1.log"]
    procs = start_pair(run_dir, data, logs, jax_cache)
    try:
        deadline = time.monotonic() + 400
        while not any(s >= KILL_AFTER_STEP for s in checkpoint_steps(run_dir)):
            assert all(p.poll() is None for p in procs), (
                "a process ended early:\n" + logs[0].read_text()[-3000:]
            )
            assert time.monotonic() < deadline, f"no checkpoint of step {KILL_AFTER_STEP} in 400 s"
            time.sleep(0.05)  # polls the condition
        os.kill(procs[1].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        procs[0].wait(timeout=HEARTBEAT_S + 120)
        stopped_after = time.monotonic() - killed_at
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=60)
    resumed_at = max(checkpoint_steps(run_dir))
    logs_again = [work / "restarted0.log", work / "restarted1.log"]
    again = start_pair(run_dir, data, logs_again, jax_cache)
    try:
        codes = [p.wait(timeout=600) for p in again]
    finally:
        for p in again:
            p.kill()
    return {
        "survivor_code": procs[0].returncode,
        "survivor_log": logs[0].read_text(),
        "stopped_after": stopped_after,
        "resumed_at": resumed_at,
        "codes": codes,
        "logs": [p.read_text() for p in logs_again],
        "run_dir": run_dir,
    }


def test_a_killed_process_stops_its_peer_with_a_message_naming_it(killed_and_restarted):
    got = killed_and_restarted
    assert got["survivor_code"] not in (0, None), got["survivor_log"][-3000:]
    assert "lost training process 1 of 2" in got["survivor_log"], got["survivor_log"][-3000:]
    assert got["stopped_after"] < HEARTBEAT_S + 120


def test_a_restart_of_both_processes_resumes_from_the_last_checkpoint(killed_and_restarted):
    got = killed_and_restarted
    assert got["codes"] == [0, 0], "\n".join(log[-2000:] for log in got["logs"])
    assert KILL_AFTER_STEP <= got["resumed_at"] < 8
    for i, log in enumerate(got["logs"]):
        assert f"resumed from {got['run_dir'] / 'checkpoints'} at step {got['resumed_at']}" in log, log[
            -2000:
        ]
        assert f"process {i} of 2" in log


def test_two_processes_train_the_networks_of_one_process_with_two_devices(killed_and_restarted, reference):
    """Bit for bit: the same global batches, the same compiled step; the gradient all-reduce sums
    two partial sums, which is exact in either order."""
    got = networks(killed_and_restarted["run_dir"])
    assert sorted(got) == sorted(f"sl-{s:08d}{kind}.pb.gz" for s in (4, 8) for kind in ("", "-swa"))
    assert sorted(got) == sorted(reference)
    differing = [name for name in reference if got[name] != reference[name]]
    assert not differing, f"networks differ from the one-process run's: {differing}"
