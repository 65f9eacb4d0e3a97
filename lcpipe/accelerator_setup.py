"""Set-up step of the README's two commands: install the JAX build that fits this machine.

``make run`` / ``make test`` call ``python -m lcpipe.accelerator_setup --jax $(JAX)`` after
installing lcpipe. ``JAX=auto`` (the default) installs the CUDA build of JAX when an NVIDIA
GPU answers ``nvidia-smi`` and keeps the CPU build otherwise; ``JAX=cpu``, ``JAX=cuda12`` or
``JAX=cuda13`` choose explicitly. A driver too old for the chosen CUDA build stops the
set-up with the version it needs: training for hours on the CPU of a GPU machine by
accident is worse than a failed set-up. Standard library only (runs before anything else).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

# The oldest Linux driver each CUDA build of JAX runs on (CUDA 12: JAX's installation guide;
# CUDA 13: NVIDIA's CUDA 13.0 release notes, driver branch r580).
MIN_DRIVER = {"cuda13": "580.65.06", "cuda12": "525.60.13"}
CHOICES = ("auto", "cpu", *MIN_DRIVER)


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str  # as nvidia-smi writes it: 470.82.01

    @property
    def driver_version(self) -> tuple[int, ...]:
        return parse_version(self.driver)


class SetupError(Exception):
    pass


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.strip().split(".") if p.isdigit())


def query_gpus(nvidia_smi: str | None = None) -> list[Gpu]:
    """The NVIDIA GPUs ``nvidia-smi`` lists (none without the tool, or when it fails: no driver)."""
    exe = nvidia_smi or shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    gpus = []
    for line in out.stdout.splitlines():
        name, _, driver = line.rpartition(",")
        if name.strip() and parse_version(driver):
            gpus.append(Gpu(name.strip(), driver.strip()))
    return gpus


def choose_build(want: str, gpus: list[Gpu]) -> str:
    """The JAX build to install: "cpu" or a CUDA extra. Raises SetupError with what to do."""
    if want == "cpu":
        return "cpu"
    if want == "auto" and not gpus:
        return "cpu"
    if not gpus:  # asked for CUDA on a machine that shows none: install it (e.g. an image built elsewhere)
        return want
    oldest = min(gpus, key=lambda g: g.driver_version)
    if want == "auto":
        for build, needed in MIN_DRIVER.items():  # the newest build this driver runs
            if oldest.driver_version >= parse_version(needed):
                return build
        build = "cuda12"
    else:
        build = want
    if oldest.driver_version < parse_version(MIN_DRIVER[build]):
        raise SetupError(
            f"the NVIDIA driver {oldest.driver} ({oldest.name}) is too old for JAX's {build} "
            f"build, which needs {MIN_DRIVER[build]} or newer. Update the driver, or set up for the "
            "CPU explicitly with JAX=cpu (e.g. make run JAX=cpu)."
        )
    return build


def cuda_plugins() -> list[str]:
    """The CUDA plugin distributions of JAX installed here (what a CPU set-up removes)."""
    names = {(d.metadata["Name"] or "").lower() for d in metadata.distributions()}
    return sorted(n for n in names if n.startswith(("jax-cuda", "jax_cuda")))


def pip_command(build: str, python: str = sys.executable) -> list[str] | None:
    """The pip call that installs ``build`` at the JAX version already installed; for the CPU,
    the one that removes CUDA plugins a former set-up installed (None when there are none)."""
    if build == "cpu":
        plugins = cuda_plugins()
        return [python, "-m", "pip", "uninstall", "-q", "-y", *plugins] if plugins else None
    return [python, "-m", "pip", "install", "-q", f"jax[{build}]=={metadata.version('jax')}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lcpipe.accelerator_setup", description=__doc__)
    ap.add_argument("--jax", default="auto", help=f"one of {', '.join(CHOICES)}")
    ap.add_argument("--dry-run", action="store_true", help="say what would be installed, install nothing")
    args = ap.parse_args(argv)
    if args.jax not in CHOICES:
        print(f"set-up: JAX={args.jax} is not one of {', '.join(CHOICES)}", file=sys.stderr)
        return EXIT_USAGE
    gpus = query_gpus()
    try:
        build = choose_build(args.jax, gpus)
    except SetupError as exc:
        print(f"set-up: {exc}", file=sys.stderr)
        return EXIT_FAILED
    found = f"{len(gpus)} x {gpus[0].name}, driver {gpus[0].driver}" if gpus else "no NVIDIA GPU"
    cmd = pip_command(build)
    if build == "cpu":
        print(f"set-up: {found}: JAX runs on the CPU" + (" (JAX=cpu)" if gpus else ""))
    if cmd is None:
        return EXIT_OK
    if build == "cpu":
        print(f"set-up: removing JAX's CUDA plugins ({' '.join(cmd[6:])})")
    else:
        print(f"set-up: {found}: installing JAX's {build} build ({' '.join(cmd[3:])})")
    if args.dry_run:
        return EXIT_OK
    return EXIT_OK if subprocess.run(cmd).returncode == 0 else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
