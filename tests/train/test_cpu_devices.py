"""cpu_devices: single-threaded XLA CPU devices set up before JAX starts, and
a batch the devices do not divide trains on the most devices that divide it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lcpipe.train import cpu_devices
from lcpipe.train.settings import normalize_settings

SCRIPT = Path(__file__).with_name("cpu_devices_script.py")
REPO = Path(__file__).resolve().parents[2]


def test_three_devices_batch_of_four_matches_one_device(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["JAX_PLATFORMS"] = "cpu"
    env.pop("XLA_FLAGS", None)
    out = tmp_path / "run.npz"
    subprocess.run([sys.executable, str(SCRIPT), str(out), "3"], env=env, check=True, timeout=600)
    r = np.load(out)
    assert int(r["n"]) == 3
    assert str(r["first"]) == "3 single-threaded CPU devices, data parallel"
    assert "already started" in str(r["second"])
    assert "--xla_cpu_multi_thread_eigen=false" in str(r["flags"])
    assert "intra_op_parallelism_threads=1" in str(r["flags"])
    # a busy machine makes device threads late, not dead: no abort after XLA's 40 s default
    for flag in cpu_devices.PATIENT_COLLECTIVE_FLAGS:
        assert flag in str(r["flags"])  # and XLA accepted it: the step's all-reduces ran
    assert int(r["used"]) == 2  # 4 rows: 3 devices don't divide them, 2 do
    keys = sorted(k for k in r.files if k.startswith("one"))
    assert keys
    for k in keys:
        np.testing.assert_allclose(r["many" + k[3:]], r[k], rtol=1e-5, atol=1e-6)


def test_only_flags_the_installed_xla_defines_are_set():
    # an unknown flag in XLA_FLAGS aborts XLA: each flag is checked against jaxlib's library
    made_up = "--xla_cpu_no_such_flag_in_any_version=1"
    known = cpu_devices.known_to_xla((*cpu_devices.PATIENT_COLLECTIVE_FLAGS, made_up))
    assert known == list(cpu_devices.PATIENT_COLLECTIVE_FLAGS)


def test_explicit_device_count_in_xla_flags_wins(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
    assert cpu_devices.configure("auto") == "CPU devices left as XLA_FLAGS sets them"
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=8"


def test_one_device_keeps_xla_default(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert "every core" in cpu_devices.configure(1)
    assert "XLA_FLAGS" not in os.environ


def test_setting_is_validated():
    assert normalize_settings({})["cpu_devices"] == "auto"
    assert normalize_settings({"cpu_devices": 2})["cpu_devices"] == 2
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(ValueError, match="cpu_devices"):
            normalize_settings({"cpu_devices": bad})
