"""Writing files so that readers never see a partial one."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same
    directory and ``os.replace``: a watcher or a crash sees the old file or
    the whole new one. ``fsync`` also survives power loss (slower)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; other processes read these files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_output(path: str | os.PathLike, data: bytes | str) -> Path:
    """A command's output file, written atomically; an error names ``path`` (not the temporary
    file beside it), so the user sees which of their arguments could not be written."""
    if not Path(path).parent.is_dir():  # a typo in the directory is not created
        raise OSError(errno.ENOENT, f"cannot write: no directory {Path(path).parent}", str(path))
    try:
        return atomic_write(path, data.encode("utf-8") if isinstance(data, str) else data, fsync=False)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write: {exc.strerror or exc}", str(path)) from None
