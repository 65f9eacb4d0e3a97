"""Chunk files (.gz, one game) and tars of chunks: read and write.

Reading is forgiving: a truncated or corrupt gzip stream keeps the whole
records decoded before the damage, bad frames are dropped one by one, and
each problem is recorded in a ``ReadReport`` with file, member and frame.
Writing is atomic: a temporary file next to the target, then ``os.replace``.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from lcpipe.fileio import atomic_write as _atomic_write
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.limits import DEFAULT_LIMITS, InputLimits
from lcpipe.lc0.report import ReadReport
from lcpipe.lc0.tario import iter_members
from lcpipe.types import Chunk

_PIECE = 1 << 16


def gunzip(
    data: bytes,
    source: str = "",
    member: str = "",
    report: ReadReport | None = None,
    max_bytes: int = DEFAULT_LIMITS.max_chunk_bytes,
) -> bytes:
    """Decompress a gzip stream (several members allowed), keeping what can be read.

    A truncated or corrupt stream is reported (or raises without a report)
    and the bytes decoded before the damage are returned. A stream inflating
    beyond ``max_bytes`` (a gzip bomb) is reported and nothing of it is kept;
    memory never grows much beyond the limit.
    """
    out: list[bytes] = []
    total = 0
    view = memoryview(data)
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        problem = None
        pos = 0
        pending: bytes | memoryview = b""
        try:
            while not d.eof and (pending or pos < len(view)):
                if not pending:
                    pending = view[pos : pos + _PIECE]
                    pos += _PIECE
                piece = d.decompress(pending, max_bytes - total + 1)
                pending = d.unconsumed_tail
                total += len(piece)
                out.append(piece)
                if total > max_bytes:
                    problem = "inflates beyond the size limit"
                    out = []
                    break
            if problem is None:
                out.append(d.flush())
        except zlib.error as exc:
            problem = f"corrupt gzip data ({exc})"
        if problem is None and not d.eof:
            problem = "truncated gzip stream"
        if problem is not None:
            if report is None:
                raise fr.FrameError(f"{source}{' [' + member + ']' if member else ''}: {problem}")
            report.bad(source, problem, member=member)
            break
        rest = d.unused_data
        if not rest.strip(b"\0"):
            break
        view = memoryview(rest)
    raw = b"".join(out)
    return raw


def parse_chunk(
    gz: bytes,
    source: str = "",
    member: str = "",
    report: ReadReport | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """Frames of one gzipped chunk (see ``frames.parse``)."""
    raw = gunzip(gz, source, member, report, limits.max_chunk_bytes)
    where = f"{source} [{member}]" if member else source
    if report is None:
        return fr.parse(raw, where)
    sub = ReadReport()
    arr = fr.parse(raw, where, sub)
    for p in sub.problems:  # re-home the problems under file + member
        report.bad(source, p.message, member=member, frame=p.frame)
    report.skipped += sub.skipped - len(sub.problems)
    report.frames += sub.frames
    report.chunks += 1
    return arr


def _too_big(size: int, source: str, member: str, report: ReadReport | None, limits: InputLimits) -> bool:
    if size <= limits.max_file_bytes:
        return False
    problem = f"chunk of {size} bytes is over the {limits.max_file_bytes >> 20} MiB file size limit"
    if report is None:
        raise fr.FrameError(f"{source}{' [' + member + ']' if member else ''}: {problem}")
    report.bad(source, problem, member=member)
    return True


def iter_raw_chunks(
    path: str | os.PathLike, report: ReadReport | None = None, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[tuple[str, str, bytes]]:
    """(key, member, gzip bytes) of every chunk in a .gz file or a .tar of them; a chunk over
    ``limits.max_file_bytes`` is reported and skipped unread (a tar itself may be larger)."""
    path = Path(path)
    source = str(path)
    if report is not None:
        report.files += 1
    try:
        if path.name.endswith(".tar"):
            with open(path, "rb") as f:
                for m in iter_members(f, source, report):
                    base = m.name.rsplit("/", 1)[-1]
                    if not base.endswith(".gz"):
                        if report is not None:
                            report.skipped_members += 1
                        continue
                    if _too_big(m.size, source, m.name, report, limits):
                        continue
                    f.seek(m.offset)
                    yield base, m.name, f.read(m.size)
        else:
            with open(path, "rb") as f:
                if _too_big(os.fstat(f.fileno()).st_size, source, "", report, limits):
                    return
                data = f.read()
            yield path.name, "", data
    except OSError as exc:
        if report is None:
            raise
        report.bad(source, f"cannot read: {exc.strerror or exc}")


def iter_games(
    path: str | os.PathLike, report: ReadReport | None = None, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[tuple[str, np.ndarray]]:
    """(chunk key, frames) for each game in a .gz chunk or a .tar of chunks."""
    for key, member, gz in iter_raw_chunks(path, report, limits):
        arr = parse_chunk(gz, str(path), member, report, limits)
        if len(arr):
            yield key, arr


def iter_chunks(
    path: str | os.PathLike, report: ReadReport | None = None, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[Chunk]:
    """``Chunk`` items (key, uncompressed frame bytes) of a data file."""
    for key, member, gz in iter_raw_chunks(path, report, limits):
        raw = gunzip(gz, str(path), member, report, limits.max_chunk_bytes)
        if report is not None:
            report.chunks += 1
        if raw:
            yield Chunk(key=key, data=raw, source=f"{path}:{member}" if member else str(path))


def read_frames(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    report: ReadReport | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """All frames of one or more data files, concatenated (mixed V6/V7 -> V7)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    parts = [arr for p in paths for _, arr in iter_games(p, report, limits)]
    if not parts:
        return np.zeros(0, dtype=fr.V6_DTYPE)
    if any(a.dtype != parts[0].dtype for a in parts):
        parts = [fr.to_v7(a) for a in parts]
    return np.concatenate(parts)


# --- writing -----------------------------------------------------------------


def gzip_frames(frames: np.ndarray, level: int = 6) -> bytes:
    """One chunk's bytes: the records gzipped (mtime 0, so output is reproducible)."""
    if frames.dtype not in (fr.V6_DTYPE, fr.V7_DTYPE):
        raise TypeError(f"expected V6 or V7 frames, got {frames.dtype}")
    return gzip.compress(np.ascontiguousarray(frames).tobytes(), compresslevel=level, mtime=0)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` atomically (no fsync: chunks are many and small)."""
    return _atomic_write(path, data, fsync=False)


def write_chunk(path: str | os.PathLike, frames: np.ndarray) -> Path:
    """Write one game as a .gz chunk, atomically."""
    return atomic_write(path, gzip_frames(frames))


def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """An uncompressed tar (PAX format) holding the given (name, bytes) members."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = now
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_tar(path: str | os.PathLike, games: Iterable[tuple[str, np.ndarray]]) -> Path:
    """Write (name, frames) games as a .tar of .gz chunks, atomically."""
    members = []
    for name, arr in games:
        if not name.endswith(".gz"):
            name += ".gz"
        members.append((name, gzip_frames(arr)))
    return atomic_write(path, tar_bytes(members))
