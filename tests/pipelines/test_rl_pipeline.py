"""The main job end to end: pipelines/rl.yaml plays games, loads them with the
native loader, trains, averages, exports an lc0 network, and — run again in
the same directory — resumes from its checkpoint instead of starting over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from lcpipe.nets.lc0net import read_net

REPO = Path(__file__).resolve().parents[2]

# Small enough for a 2-core CI machine; the structure is the shipped spec's.
SMALL = [
    "stages.selfplay.with.visits=8",
    "stages.selfplay.with.parallel_games=16",
    "stages.selfplay.with.max_plies=60",
    "stages.pool.with.min_chunks=16",
    "stages.shuffled.with.size=2000",
    "stages.batches.with.batch_size=32",
    "stages.test_batches.with.batch_size=32",
    "stages.train.with.steps_per_network=10",
    "stages.train.with.test_every=5",
    "stages.train.with.checkpoint.every=10",
    "stages.swa.with.period=2",
]


def run_rl(run_dir: Path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "lcpipe.cli.main",
        "run",
        str(REPO / "pipelines" / "rl.yaml"),
        "--stop-after",
        "networks=1",
        "--set",
        f"vars.run={run_dir}",
    ]
    for item in SMALL:
        cmd += ["--set", item]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_rl_pipeline_exports_a_network_and_resumes(tmp_path):
    run_dir = tmp_path / "rl"
    first = run_rl(run_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    nets = sorted((run_dir / "nets").glob("*.pb.gz"))
    assert len(nets) == 1, first.stderr[-3000:]
    games = list((run_dir / "games").glob("*.gz"))
    assert len(games) >= 16  # the loader waited for min_chunks self-play games
    net = read_net(nets[0])
    assert net.training_params["training_steps"] == 10

    second = run_rl(run_dir)  # same directory: resumes from the checkpoint
    assert second.returncode == 0, second.stderr[-3000:]
    nets = sorted((run_dir / "nets").glob("*.pb.gz"))
    assert [read_net(p).training_params["training_steps"] for p in nets] == [10, 20]


def _layers(path: Path) -> dict:
    return {p: layer.values for p, layer in read_net(path).iter_layers()}


def test_net_export_restores_only_weights_of_an_rl_checkpoint(tmp_path):
    """`lcpipe net export` on the checkpoint of a real rl.yaml run (nadamw optimizer settings, SWA):
    it restores the weights and the recorded model configuration, nothing of the optimizer."""
    run_dir = tmp_path / "rl"
    first = run_rl(run_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    [pipeline_net] = sorted((run_dir / "nets").glob("*.pb.gz"))
    for kind in ("swa", "raw"):
        out = tmp_path / f"{kind}.pb.gz"
        cmd = [
            sys.executable,
            "-m",
            "lcpipe.cli.main",
            "net",
            "export",
            str(run_dir / "checkpoints"),
            str(out),
            "--kind",
            kind,
            "--step",
            "10",
        ]  # the network's step (the run may checkpoint a few more)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert read_net(out).training_params["training_steps"] == 10
    exported, swa, raw = (
        _layers(pipeline_net),
        _layers(tmp_path / "swa.pb.gz"),
        _layers(tmp_path / "raw.pb.gz"),
    )
    assert exported.keys() == swa.keys() == raw.keys()
    assert all(np.array_equal(exported[p], swa[p]) for p in exported)  # the pipeline exported the SWA weights
    assert any(not np.array_equal(exported[p], raw[p]) for p in exported)
