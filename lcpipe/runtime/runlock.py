"""One writer per run directory.

A run's *state directories* are the directories its stages write state into
that a restart reads back: the trainer's checkpoints, self-play's games, the
exported networks. ``lcpipe run`` takes an exclusive ``flock`` on a lock file
in each of them before any stage starts and holds it until the process exits,
so a second run on the same directories fails at once instead of corrupting
them. The kernel drops a ``flock`` when its holder dies, so the lock of a
killed run (kill -9 included) is stale by construction and simply taken over.

In a multi-process run (docs/scaling.md) the processes on one machine share
the checkpoint directory: each process takes its own lock file there
(``lock_name``), so two runs still exclude each other process by process.

Directories that are only read (a watched data directory, shared by any
number of runs) are not locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

LOCK_NAME = ".lcpipe-run.lock"

# Settings that name a state directory, per stage type: "dir" is a directory,
# "template" a file name template whose fixed directory part is the directory.
# Any other stage's `out_dir` setting counts as a state directory too.
STATE_SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "train.jax": (("checkpoint.dir", "dir"),),
    "export.lc0": (("path", "template"),),
    "selfplay.mcts": (("out_dir", "dir"),),
}


def lock_name(process_index: int = 0) -> str:
    """The lock file of a run's process ``process_index`` (0: a single-process run's too)."""
    return LOCK_NAME if process_index == 0 else f".lcpipe-run.p{process_index}.lock"


class RunLocked(Exception):
    """Another live process holds the lock of one of the run's state directories."""

    def __init__(self, directory: Path, pid: int | None, name: str = LOCK_NAME):
        self.directory, self.pid = directory, pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"run directory {directory} is in use by {holder} (its lock file: "
            f"{directory / name}); stop that run first or give this one other directories"
        )


def _setting(config: dict, dotted: str):
    value: object = config
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _template_dir(template: str) -> str:
    """The directory part of a file name template that no ``{field}`` changes."""
    fixed = re.split(r"\{", template, maxsplit=1)[0]
    return os.path.dirname(fixed) if "{" in template else os.path.dirname(template)


def state_directories(pipeline) -> list[Path]:
    """The state directories of a compiled pipeline, absolute, without duplicates, sorted."""
    workdir = Path(pipeline.runtime.get("workdir", "."))
    found: set[Path] = set()
    for name in pipeline.graph.nodes:
        node = pipeline.graph.nodes[name]
        config = node.get("config") or {}
        settings = STATE_SETTINGS.get(node["use"], (("out_dir", "dir"),))
        for key, kind in settings:
            value = _setting(config, key)
            if node["use"] == "train.jax" and key == "checkpoint.dir" and not value:
                value = str(workdir / "checkpoints")  # the train stage's default
            if not isinstance(value, str) or not value:
                continue
            directory = _template_dir(value) if kind == "template" else value
            path = Path(directory or ".")
            found.add((path if path.is_absolute() else workdir / path).resolve())
    return sorted(found)


@dataclass
class RunLock:
    """Exclusive locks on a set of directories, held until ``release`` (or process exit)."""

    directories: list[Path]
    process_index: int = 0  # of a multi-process run: each process locks its own file
    _fds: list[int] = field(default_factory=list)

    def acquire(self) -> RunLock:
        try:
            for directory in self.directories:
                self._fds.append(_lock_one(directory, lock_name(self.process_index)))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing the descriptor drops the flock
        self._fds.clear()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _lock_one(directory: Path, name: str) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise RunLocked(directory, _read_pid(path), name) from None
        raise
    # ours now (a stale file of a dead process included): record who holds it
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def clean_interrupted_writes(directories: list[Path]) -> list[Path]:
    """Remove what interrupted writes left behind in locked state directories: the
    ``.NAME.*.tmp`` files of atomic writes (exports, games) and orbax's ``*-tmp*``
    checkpoint directories. Only call while holding the directories' lock."""
    removed = []
    for directory in directories:
        try:
            entries = list(directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            stale_file = name.startswith(".") and name.endswith(".tmp") and entry.is_file()
            stale_ckpt = ".orbax-checkpoint-tmp" in name and entry.is_dir()
            if not (stale_file or stale_ckpt):
                continue
            try:
                shutil.rmtree(entry) if stale_ckpt else entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def run_directory(pipeline) -> Path:
    """Where a run's control socket lives: the deepest directory holding all its state
    directories (runs/rl for runs/rl/{checkpoints,games,nets}), else the workdir."""
    directories = state_directories(pipeline)
    if not directories:
        return Path(pipeline.runtime.get("workdir", ".")).resolve()
    return Path(os.path.commonpath([str(d) for d in directories]))
