"""Data parallelism: 8 simulated CPU devices and two jax.distributed processes
give the same weights as one device."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("dp_script.py")
REPO = Path(__file__).resolve().parents[2]


def _env(devices: int | None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["JAX_PLATFORMS"] = "cpu"
    import jax

    cache = jax.config.jax_compilation_cache_dir  # the session's cache (conftest): the two init programs of
    if cache:  # the local run compile once
        env.update(
            JAX_COMPILATION_CACHE_DIR=cache,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        )
    # keep the suite's XLA flags (tests/conftest.py), replace any device count
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
    if devices:
        flags.append(f"--xla_force_host_platform_device_count={devices}")
    env["XLA_FLAGS"] = " ".join(flags)
    return env


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dp") / "local.npz"
    subprocess.run([sys.executable, str(SCRIPT), str(out), "local"], env=_env(8), check=True, timeout=600)
    return np.load(out)


def test_eight_devices_match_one(local_run):
    assert int(local_run["n"]) == 8
    keys = sorted(k for k in local_run.files if k.startswith("one"))
    assert keys
    for k in keys:
        np.testing.assert_allclose(local_run["many" + k[3:]], local_run[k], rtol=1e-5, atol=1e-6)


def test_accumulation_and_bfloat16_under_sharding_match_one_device(local_run):
    """Two micro-batches per step in bfloat16, sharded over 8 devices: the weights of one device
    (bfloat16 sums over other partial batches round differently: a bfloat16-sized tolerance)."""
    keys = sorted(k for k in local_run.files if k.startswith("accone"))
    assert keys
    moved = 0.0
    for k in keys:
        np.testing.assert_allclose(local_run["accmany" + k[6:]], local_run[k], rtol=2e-2, atol=2e-3)
        moved = max(moved, float(np.abs(local_run[k] - local_run["one" + k[6:]]).max()))
    assert moved > 0  # bfloat16 compute really ran (not the float32 program again)


def test_two_processes_match_one(local_run, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "dist.npz"
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(out), "dist", str(i), str(port)],
            env=_env(None),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[0].decode(errors="replace") for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(logs)[-3000:]
    got = np.load(out)
    for k in sorted(k for k in local_run.files if k.startswith("one")):
        np.testing.assert_allclose(got["dist" + k[3:]], local_run[k], rtol=1e-5, atol=1e-6)
