"""The set-up step that picks JAX's build (lcpipe/accelerator_setup.py), run as `make` runs it,
with an `nvidia-smi` on PATH that answers as a driver of the given version would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lcpipe.accelerator_setup import Gpu, SetupError, choose_build


def fake_nvidia_smi(tmp_path: Path, lines: list[str], rc: int = 0) -> Path:
    """A directory whose nvidia-smi prints ``lines`` for the query set-up makes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "nvidia-smi"
    body = "".join(f"echo '{ln}'\n" for ln in lines)
    exe.write_text(
        f'#!/bin/sh\ncase "$*" in *--query-gpu=name,driver_version*) ;; *) exit 9;; esac\n{body}exit {rc}\n'
    )
    exe.chmod(0o755)
    return bin_dir


def setup_step(bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(bin_dir) + os.pathsep + env["PATH"]  # this nvidia-smi before any real one
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.accelerator_setup", "--dry-run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_gpu_jax_stays_on_the_cpu(tmp_path):
    """nvidia-smi without a loaded driver fails: that machine runs JAX on the CPU."""
    out = setup_step(fake_nvidia_smi(tmp_path, ["NVIDIA-SMI has failed"], rc=9))
    assert out.returncode == 0, out.stderr
    assert "no NVIDIA GPU: JAX runs on the CPU" in out.stdout


def test_a_gpu_gets_the_newest_cuda_build_its_driver_runs(tmp_path):
    jax_version = __import__("importlib.metadata").metadata.version("jax")
    cuda12 = fake_nvidia_smi(tmp_path / "a", ["NVIDIA H100 80GB HBM3, 550.54.14"] * 2)
    out = setup_step(cuda12)
    assert out.returncode == 0, out.stderr
    assert "2 x NVIDIA H100 80GB HBM3, driver 550.54.14" in out.stdout
    assert f"jax[cuda12]=={jax_version}" in out.stdout
    cuda13 = fake_nvidia_smi(tmp_path / "b", ["NVIDIA H200, 580.95.05"])
    assert f"jax[cuda13]=={jax_version}" in setup_step(cuda13).stdout
    assert f"jax[cuda12]=={jax_version}" in setup_step(cuda13, "--jax", "cuda12").stdout


def test_a_driver_too_old_stops_set_up_with_what_to_do(tmp_path):
    old = fake_nvidia_smi(tmp_path, ["Tesla V100-SXM2-16GB, 470.82.01"])
    out = setup_step(old)
    assert out.returncode == 1
    assert "driver 470.82.01 (Tesla V100-SXM2-16GB) is too old for JAX's cuda12 build" in out.stderr
    assert "525.60.13 or newer" in out.stderr and "JAX=cpu" in out.stderr
    asked = setup_step(old, "--jax", "cuda13")
    assert asked.returncode == 1 and "580.65.06 or newer" in asked.stderr
    assert setup_step(old, "--jax", "cpu").returncode == 0


def test_an_unknown_choice_is_a_usage_error(tmp_path):
    out = setup_step(fake_nvidia_smi(tmp_path, []), "--jax", "cuda11")
    assert out.returncode == 2
    assert "JAX=cuda11 is not one of auto, cpu, cuda13, cuda12" in out.stderr


@pytest.mark.parametrize(
    ("want", "driver", "build"),
    [("auto", "580.65.06", "cuda13"), ("auto", "580.65.5", "cuda12"), ("cuda12", "525.60.13", "cuda12")],
)
def test_driver_versions_compare_as_numbers(want, driver, build):
    assert choose_build(want, [Gpu("NVIDIA A100", driver)]) == build


def test_the_oldest_driver_of_several_gpus_decides():
    with pytest.raises(SetupError, match="520.61.05"):
        choose_build("auto", [Gpu("A", "550.54.14"), Gpu("B", "520.61.05")])
