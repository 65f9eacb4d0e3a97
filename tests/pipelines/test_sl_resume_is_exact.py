"""A supervised run killed with SIGKILL after a checkpoint and restarted ends with the same
networks, bit for bit, as a run never interrupted: the trainer state and the position in the
loader's seeded data stream are restored together (docs/run-integrity.md, "Exact resume")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures" / "lc0-selfplay"

# pipelines/sl.yaml, small (its stream is defined by the data and the seeds alone: its pool
# starts once every file is read, its batch stage has one thread).
EXACT = [
    "stages.train.with.model={body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, "
    "value_hidden: 8, moves_left_channels: 2, moves_left_hidden: 8, policy_type: conv}",
    "stages.batches.with.batch_size=64",
    "stages.test_batches.with.batch_size=64",
    "stages.shuffled.with.size=2000",
    "stages.frames.with.sampling_rate=0.5",  # unpack's frame cache in play
    "stages.test_frames.with.threads=1",
    "stages.train.with.test_every=20",
    "stages.train.with.test_batches=1",
    "stages.train.with.steps_per_network=20",
    "stages.train.with.total_steps=60",
    "stages.train.with.checkpoint.every=5",
    "stages.console.with.interval=3600",
    # one XLA device: the 2-device all-reduce can time out on a loaded CI machine (an XLA abort)
    "stages.train.with.cpu_devices=1",
    "vars.epochs=100",
]
# The killed run goes past this checkpoint step before the kill: the restart is inside the
# first pass over the data (about 50 batches), with pool order, unpack's cache of unused frames
# and the reservoir all part way.
KILL_AFTER_STEP = 25


@pytest.fixture(scope="module")
def jax_cache(tmp_path_factory) -> Path:
    """An XLA compilation cache shared by the runs of this module (each compiles the same
    programs), or the suite's (LCPIPE_TEST_JAX_CACHE, as in tests/train)."""
    shared = os.environ.get("LCPIPE_TEST_JAX_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("jax_cache")


@pytest.fixture(scope="module")
def one_tar(tmp_path_factory) -> Path:
    """The data set: one real lc0 tar (80 games, 7,029 frames), linked, not copied."""
    if not (FIXTURES / "selfplay-fmt1.tar").is_file():
        pytest.fail(f"the lc0 fixtures are missing: {FIXTURES}")
    data = tmp_path_factory.mktemp("data")
    (data / "selfplay-fmt1.tar").symlink_to(FIXTURES / "selfplay-fmt1.tar")
    return data


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_tar, jax_cache) -> dict[str, bytes]:
    """The networks of the run never interrupted, one decoding thread."""
    run_dir = tmp_path_factory.mktemp("whole")
    run_to_end(sl_command(run_dir, one_tar, threads=1), run_env(jax_cache))
    nets = networks(run_dir)
    assert sorted(nets) == sorted(f"sl-{s:08d}{kind}.pb.gz" for s in (20, 40, 60) for kind in ("", "-swa"))
    return nets


def sl_command(run_dir: Path, data: Path, threads: int) -> list[str]:
    """The run, with ``threads`` threads decoding games (loader.unpack) and reading files."""
    cmd = [sys.executable, "-m", "lcpipe.cli.main", "run", str(REPO / "pipelines" / "sl.yaml")]
    threads_items = [f"stages.frames.with.threads={threads}", f"stages.sources.with.threads={threads}"]
    for item in [f"vars.data={data}", f"vars.run={run_dir}", *EXACT, *threads_items]:
        cmd += ["--set", item]
    return cmd


def checkpoint_steps(run_dir: Path) -> list[int]:
    """Steps of the finished checkpoints (orbax renames a step's directory into place when done)."""
    ckdir = run_dir / "checkpoints"
    return sorted(int(p.name) for p in ckdir.iterdir() if p.name.isdigit()) if ckdir.is_dir() else []


def networks(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "nets").glob("*.pb.gz"))}


def run_env(jax_cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(jax_cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def run_to_end(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def kill_after_checkpoint(cmd: list[str], env: dict[str, str], run_dir: Path, step: int, log: Path) -> None:
    """Starts the run and kills it with SIGKILL once a checkpoint of ``step`` or later is on disk."""
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            deadline = time.monotonic() + 300
            while not any(s >= step for s in checkpoint_steps(run_dir)):
                assert proc.poll() is None, (
                    f"the run ended before its step {step} checkpoint: " + log.read_text()[-3000:]
                )
                assert time.monotonic() < deadline, f"no checkpoint of step {step} within 300 s"
                time.sleep(0.02)  # polls the condition; the kill lands wherever the run is by then
            assert proc.poll() is None, "the run ended before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=60)


def test_sl_run_killed_and_restarted_ends_with_the_networks_of_an_uninterrupted_run(
    tmp_path, one_tar, uninterrupted, jax_cache
):
    """The killed and the restarted run decode with 2 threads, the uninterrupted one with 1: the
    networks match only if the resume is exact and the stream does not depend on the threads."""
    threads = 2
    killed = tmp_path / "killed"
    cmd = sl_command(killed, one_tar, threads)
    env = run_env(jax_cache)
    kill_after_checkpoint(cmd, env, killed, KILL_AFTER_STEP, tmp_path / "killed.log")
    resumed_at = max(checkpoint_steps(killed))
    assert KILL_AFTER_STEP <= resumed_at < 60
    restarted = run_to_end(cmd, env)

    assert f"resumed from {killed / 'checkpoints'} at step {resumed_at}" in restarted.stderr
    # the stream continues after the last trained batch: one batch per step, none rejected
    assert f"data stream batches.batches resumes at batch {resumed_at}" in restarted.stderr
    got = networks(killed)
    assert sorted(got) == sorted(uninterrupted)
    differing = [name for name in uninterrupted if got[name] != uninterrupted[name]]
    assert not differing, f"networks differ from the uninterrupted run's: {differing}"
