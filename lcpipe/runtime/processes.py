"""Which process of a multi-process run this is (docs/scaling.md).

A run over N processes (one per host, or several on one machine) is started
with JAX's coordinator settings: ``lcpipe run`` flags, else the environment
(JAX_COORDINATOR_ADDRESS, which jax.distributed reads itself, with
JAX_NUM_PROCESSES and JAX_PROCESS_ID), else a cluster scheduler that
jax.distributed detects on its own (SLURM, Open MPI). ``initialize`` starts
jax.distributed once, before any stage touches JAX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Tasks of a scheduler job that jax.distributed.initialize() finds by itself.
SCHEDULER_TASKS = ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE")
SHUTDOWN_WAIT_S = 300


@dataclass(frozen=True)
class ProcessGroup:
    """The coordinator settings of a multi-process run; None: jax.distributed detects it."""

    coordinator: str | None
    count: int | None
    index: int | None

    def describe(self) -> str:
        if self.coordinator is None:
            return "the processes of this scheduler job (detected by jax.distributed)"
        return f"process {self.index} of {self.count}, coordinator {self.coordinator}"


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {text!r}") from None


def requested_group(
    coordinator: str | None, num_processes: int | None, process_id: int | None, environ: Mapping[str, str]
) -> ProcessGroup | None:
    """The group asked for by flags (given ones win), the environment or a scheduler; None for a
    single process. ValueError for an incomplete or inconsistent request, naming what is missing."""
    coordinator = coordinator or environ.get("JAX_COORDINATOR_ADDRESS") or None
    if num_processes is None and environ.get("JAX_NUM_PROCESSES"):
        num_processes = _integer("JAX_NUM_PROCESSES", environ["JAX_NUM_PROCESSES"])
    if process_id is None and environ.get("JAX_PROCESS_ID"):
        process_id = _integer("JAX_PROCESS_ID", environ["JAX_PROCESS_ID"])
    if num_processes == 1:  # asked for one process (e.g. inside a scheduler job): nothing to join
        return None
    given = {"--coordinator": coordinator, "--num-processes": num_processes, "--process-id": process_id}
    if all(v is None for v in given.values()):
        tasks = [environ.get(name, "") for name in SCHEDULER_TASKS]
        if any(t.isdigit() and int(t) > 1 for t in tasks):
            return ProcessGroup(None, None, None)
        return None
    missing = [flag for flag, value in given.items() if value is None]
    if missing:
        raise ValueError(
            f"a multi-process run needs {', '.join(missing)} too (or the environment variables "
            "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)"
        )
    assert coordinator is not None and num_processes is not None and process_id is not None
    if ":" not in coordinator:
        raise ValueError(f"coordinator {coordinator!r}: expected HOST:PORT (process 0's host)")
    if num_processes < 1:
        raise ValueError(f"the number of processes must be at least 1, not {num_processes}")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process id {process_id} is not one of 0 .. {num_processes - 1}")
    return ProcessGroup(coordinator, num_processes, process_id)


def initialize(group: ProcessGroup, heartbeat_timeout: int) -> tuple[int, int]:
    """Joins the run's processes (blocks until all have joined); returns (index, count).

    A process that stops sending heartbeats for ``heartbeat_timeout`` seconds is declared dead
    and the others end. At a clean exit the processes wait for each other (process 0 may still
    export its last network) for up to SHUTDOWN_WAIT_S."""
    import jax

    jax.distributed.initialize(
        group.coordinator,
        group.count,
        group.index,
        heartbeat_timeout_seconds=heartbeat_timeout,
        shutdown_timeout_seconds=max(SHUTDOWN_WAIT_S, heartbeat_timeout),
    )
    global _joined
    _joined = (jax.process_index(), jax.process_count())
    return _joined


def current() -> tuple[int, int]:
    """(index, count) of this process: (0, 1) unless ``initialize`` joined a group."""
    return _joined


_joined = (0, 1)
