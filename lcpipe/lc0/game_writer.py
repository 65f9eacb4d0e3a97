"""Writing games as they are made: one .gz chunk per game, or one .tar of chunks.

A tar is streamed member by member into a temporary file beside the target
and renamed onto it when complete, so memory stays flat for any number of
games and a reader (or a crash) never sees a partial tar. A ``.gz`` chunk is
written atomically on its own.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from lcpipe.lc0 import chunks


class TarStream:
    """A .tar of chunks written member by member; ``commit`` renames it into place."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self.members = 0

    def add(self, name: str, gz: bytes) -> None:
        """One member: ``name`` (".gz" appended when missing) holding gzip bytes ``gz``."""
        info = tarfile.TarInfo(name if name.endswith(".gz") else name + ".gz")
        info.size = len(gz)
        info.mtime = int(time.time())
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(gz))
        self._file.flush()  # on disk now: memory stays flat, progress is visible
        self.members += 1

    def commit(self) -> Path:
        self._tar.close()
        self._file.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp makes 0600; other processes read data files
        os.replace(self._tmp, self.path)
        return self.path

    def abandon(self) -> None:
        """Drop the partial tar (on an error or an interrupt): the target is left untouched."""
        try:
            self._tar.close()
            self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> TarStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abandon()


class GameWriter:
    """Games into ``out_dir``: each as its own .gz chunk, or all into the tar ``tar_name``."""

    def __init__(self, out_dir: str | os.PathLike, tar_name: str | None = None):
        self.out_dir = Path(out_dir)
        self.tar = TarStream(self.out_dir / tar_name) if tar_name else None
        self.paths: list[Path] = []
        self.games = 0

    def add(self, name: str, frames: np.ndarray) -> None:
        self.add_gz(name, chunks.gzip_frames(frames))

    def add_gz(self, name: str, gz: bytes) -> None:
        if self.tar is not None:
            self.tar.add(name, gz)
        else:
            self.paths.append(chunks.atomic_write(self.out_dir / name, gz))
        self.games += 1

    def close(self) -> list[Path]:
        """Every file written (the tar appears only now)."""
        if self.tar is not None:
            self.paths.append(self.tar.commit())
            self.tar = None
        return self.paths

    def abandon(self) -> None:
        if self.tar is not None:
            self.tar.abandon()
            self.tar = None

    def __enter__(self) -> GameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()
