"""pipelines/sl.yaml on real lc0 data: supervised training over a fixed data set ends by
itself (after its epochs or total_steps) with its final network on disk."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from lcpipe.nets.lc0net import read_net

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures" / "lc0-selfplay"

SMALL = [
    "stages.train.with.model={body: resnet, filters: 8, blocks: 1, se_ratio: 2, value_channels: 4, "
    "value_hidden: 8, moves_left_channels: 2, moves_left_hidden: 8, policy_type: conv}",
    "stages.batches.with.batch_size=256",
    "stages.test_batches.with.batch_size=64",
    "stages.shuffled.with.size=3000",
    "stages.train.with.test_every=10",
    "stages.train.with.test_batches=1",
    "stages.train.with.steps_per_network=10",
    "stages.console.with.interval=3600",
    # one XLA device, as in test_sl_resume_is_exact: two single-threaded devices all-reduce each
    # step, and XLA:CPU aborts a rendezvous that waits 40 s (seen under a full suite beside a
    # 60-minute RL run); what this file checks does not depend on the device count
    "stages.train.with.cpu_devices=1",
]


@pytest.fixture
def one_tar(tmp_path) -> Path:
    """The data set: one real lc0 tar (80 games, 7,029 frames), linked, not copied."""
    if not (FIXTURES / "selfplay-fmt1.tar").is_file():
        pytest.fail(f"the lc0 fixtures are missing: {FIXTURES}")
    data = tmp_path / "data"
    data.mkdir()
    (data / "selfplay-fmt1.tar").symlink_to(FIXTURES / "selfplay-fmt1.tar")
    return data


def run_sl(run_dir: Path, data: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [
        sys.executable,
        "-m",
        "lcpipe.cli.main",
        "run",
        str(REPO / "pipelines" / "sl.yaml"),
        "--set",
        f"vars.data={data}",
        "--set",
        f"vars.run={run_dir}",
    ]
    for item in SMALL + list(overrides):
        cmd += ["--set", item]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    return done, time.time()


def _net_steps(run_dir: Path) -> dict[str, int]:
    return {p.name: read_net(p).training_params["training_steps"] for p in (run_dir / "nets").glob("*.pb.gz")}


def test_sl_pipeline_ends_at_total_steps_with_its_final_network(tmp_path, one_tar):
    run_dir = tmp_path / "sl"
    done, ended = run_sl(run_dir, one_tar, "stages.train.with.total_steps=15", "vars.epochs=100")
    assert done.returncode == 0, done.stderr[-3000:]
    nets = _net_steps(run_dir)
    # raw and SWA under their own names; the final step 15 is not a multiple of steps_per_network
    assert nets == {
        "sl-00000010.pb.gz": 10,
        "sl-00000010-swa.pb.gz": 10,
        "sl-00000015.pb.gz": 15,
        "sl-00000015-swa.pb.gz": 15,
    }
    final = max((run_dir / "nets").glob("*.pb.gz"), key=lambda p: p.stat().st_mtime)
    assert ended - final.stat().st_mtime < 20, "the run did not end soon after its last network"
    assert "training stopped at step 15" in done.stderr


def test_sl_pipeline_ends_after_its_epochs_dropping_the_partial_batch(tmp_path, one_tar):
    run_dir = tmp_path / "sl"
    done, _ = run_sl(run_dir, one_tar, "stages.train.with.total_steps=100000", "vars.epochs=2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped a batch" not in done.stderr  # drop_last: the partial batch never reaches the step
    stopped = [line for line in done.stderr.splitlines() if "training stopped at step" in line]
    assert stopped, done.stderr[-3000:]
    steps = int(stopped[-1].rsplit(" ", 1)[1])
    # 2 epochs over the train split (95% of 7,029 frames) in batches of 256, partial batches dropped
    assert 2 * 24 <= steps <= 2 * 27
    assert max(_net_steps(run_dir).values()) == steps
