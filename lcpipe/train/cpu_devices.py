"""How the trainer uses the cores of a machine without an accelerator.

XLA:CPU runs one device with a multi-threaded pool: every operation is split
across the cores and the threads meet after each one. Data parallelism over one
single-threaded XLA device per core does the same computation (the step is
sharded by batch, exactly as on several GPUs) with the cores working
independently between the gradient all-reduces: on 2 cores the reference
transformer step ran 1.09-1.21x faster in interleaved runs
(benchmarks/results/cpu_layout.txt).

This must happen before JAX creates its CPU client, which is why the train.jax
stage declares `prepare` (run by the runtime before any stage starts).
"""

from __future__ import annotations

import importlib.util
import logging
import os

log = logging.getLogger("lcpipe.train")

SINGLE_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1")
# These devices are threads of one process on shared cores: a collective whose peers are late only
# means the machine is busy (a loaded CI box stalls threads for tens of seconds). XLA aborts the
# whole process after 40 s of waiting in a CPU collective; wait a day instead.
PATIENT_COLLECTIVE_FLAGS = (
    "--xla_cpu_collective_call_terminate_timeout_seconds=86400",
    "--xla_cpu_collective_timeout_seconds=86400",
)
ACCELERATOR_PLUGINS = (
    "jax_cuda12_plugin",
    "jax_cuda13_plugin",
    "jax_rocm60_plugin",
    "jax_rocm7_plugin",
    "libtpu",
)


def known_to_xla(flags: tuple[str, ...]) -> list[str]:
    """The flags the installed jaxlib defines (an unknown flag in XLA_FLAGS aborts XLA); a flag
    is known when its name is in jaxlib's library."""
    import mmap

    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    library = os.path.join(list(spec.submodule_search_locations)[0], "libjax_common.so")
    try:
        with open(library, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as image:
            return [flag for flag in flags if image.find(flag.split("=")[0][2:].encode()) >= 0]
    except (OSError, ValueError):
        return []


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def backend_started() -> bool:
    """True once JAX has created its backends (device settings are fixed from then on)."""
    try:
        from jax._src import xla_bridge
    except ImportError:
        return False
    return bool(getattr(xla_bridge, "_backends", None))


def has_accelerator_plugin() -> bool:
    if os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return False  # installed, but this process was told to run on the CPU
    return any(importlib.util.find_spec(name) is not None for name in ACCELERATOR_PLUGINS)


def resolve(devices: str | int) -> int:
    """Device count for a `cpu_devices` setting: 'auto' (one per usable core) or a positive integer."""
    if devices == "auto":
        return usable_cores()
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"cpu_devices must be 'auto' or a positive integer, not {devices!r}")
    return devices


def configure(devices: str | int = "auto") -> str:
    """Set up `devices` single-threaded CPU devices; returns what was done, in words.

    1 leaves XLA's default (one device, all cores). Left alone as well: a
    process whose JAX backend already started, an explicit
    --xla_force_host_platform_device_count in XLA_FLAGS, and machines with an
    accelerator plugin installed (training runs there, not on the CPU).
    """
    n = resolve(devices)
    if n == 1:
        return "one CPU device using every core (cpu_devices: 1)"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return "CPU devices left as XLA_FLAGS sets them"
    if has_accelerator_plugin():
        return "accelerator plugin installed: CPU devices left alone"
    if backend_started():
        return "JAX already started in this process: CPU devices left alone"
    import jax

    jax.config.update("jax_num_cpu_devices", n)
    wanted = [*SINGLE_THREAD_FLAGS, *known_to_xla(PATIENT_COLLECTIVE_FLAGS)]
    missing = [f for f in wanted if f.split("=")[0] not in flags]
    os.environ["XLA_FLAGS"] = " ".join([flags, *missing]).strip()
    return f"{n} single-threaded CPU devices, data parallel"


def prepare_stage(config: dict) -> None:
    """The train.jax stage's `prepare`: runs before any stage starts."""
    log.info("train.jax: %s", configure(config["cpu_devices"]))
