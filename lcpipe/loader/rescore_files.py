"""Rescoring data files to new files with the pipeline's own ``loader.rescore`` code.

``lcpipe data rescore`` builds the native segment a pipeline would
(``loader.read`` -> ``loader.extract`` in file order -> ``loader.rescore``),
feeds it the input files, and takes the rescored games back as records
(``Segment.pop_chunk``). Several Python threads pop, gzip (zlib lets go of
the GIL) and write, so the C++ threads are never kept waiting. Each input
file becomes one output file: a tar is streamed into a temporary file and
renamed when whole, a .gz chunk is written atomically. Members of an output
tar come in the order they finish (several rescoring threads).
"""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcpipe.compiler.compile import Link
from lcpipe.fileio import atomic_write
from lcpipe.lc0.data_files import DataFile
from lcpipe.lc0.game_writer import TarStream
from lcpipe.loader import segment as lseg
from lcpipe.settings import normalize

RESCORE = "loader.rescore"
GZIP_LEVEL = 6  # lc0's own: the same bytes as its files; 1-3 write about 3x faster, 40-60% larger


@dataclass
class _Member:
    name: str
    stage_type: str
    config: dict[str, Any]
    queue: dict[str, Any] = field(default_factory=dict)


@dataclass
class RescoreResult:
    games: int = 0
    frames_bytes: int = 0
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return int(self.stats.get("rescore/skipped", 0))


def stage_settings(stage_type: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """A loader stage's settings, defaulted and checked as a spec's would be (ValueError)."""
    from lcpipe.loader.stages import lcpipe_stage_types

    decl = {st.name: st for st in lcpipe_stage_types()}[stage_type]
    return normalize(decl.schema, given, decl.checks, where=stage_type)


def rescore_settings(given: dict[str, Any] | None) -> dict[str, Any]:
    return stage_settings(RESCORE, given)


def _segment_members(config: dict[str, Any]):
    read = _Member("read", "loader.read", stage_settings("loader.read", {"newest_first": False}))
    extract = _Member("extract", "loader.extract", stage_settings("loader.extract", {"shuffle": False}))
    rescore = _Member("rescore", RESCORE, config)
    links = [
        Link("read", "sources", "extract", "sources", "chunk_sources", "stream"),
        Link("extract", "chunks", "rescore", "chunks", "chunks", "stream"),
    ]
    return [read, extract, rescore], links


class _Outputs:
    """One output per input file, opened on its first game; thread-safe."""

    def __init__(self, out_dir: Path, files: list[DataFile]):
        self.out_dir = out_dir
        self.by_input = {str(f.path): f for f in files}
        self.tars: dict[str, TarStream] = {}
        self.written: list[Path] = []
        self.lock = threading.Lock()

    def add(self, source: str, key: str, member: str, gz: bytes) -> None:
        f = self.by_input[source]
        target = self.out_dir / f.relative
        with self.lock:
            if not f.is_tar:
                self.written.append(atomic_write(target, gz, fsync=False))
                return
            tar = self.tars.get(source)
            if tar is None:
                tar = self.tars[source] = TarStream(target)
            tar.add(member or key, gz)

    def commit(self) -> list[Path]:
        for tar in self.tars.values():
            self.written.append(tar.commit())
        self.tars.clear()
        return sorted(self.written)

    def abandon(self) -> None:
        for tar in self.tars.values():
            tar.abandon()
        self.tars.clear()


def _push(native, qid: str, path: str, failed: Callable[[], bool]) -> bool:
    """Hand one path to the segment, waiting while its queue is full; False once it cannot take more."""
    while True:
        r = native.push_path(qid, path, 0.1)
        if r != 0:
            return r > 0
        if failed():
            return False


class FileRescorer:
    """The native read -> extract -> rescore segment for ``files``, built (and its settings
    checked: ValueError) at once, run by ``run``."""

    def __init__(self, files: list[DataFile], config: dict[str, Any], workdir: Path = Path(".")):
        from lcpipe import _native

        members, links = _segment_members(config)
        queues, stages, ext_in, ext_out = lseg.describe(
            members,
            links,
            has_input=lambda key: key == "read.paths",
            has_output=lambda key: key == "rescore.chunks",
            workdir=workdir,
            hand_out={"chunks"},
        )
        self.files = files
        self.native = _native.loader.Segment(queues, stages)
        self.in_q, self.out_q = ext_in["read.paths"], ext_out["rescore.chunks"]

    def run(
        self,
        out_dir: str | os.PathLike,
        version: int = 0,
        writers: int = 0,
        on_game: Callable[[int], None] | None = None,
        gzip_level: int = GZIP_LEVEL,
    ) -> RescoreResult:
        """Rescore every game into ``out_dir``. ``version`` 6 or 7 writes every record as that
        version, 0 keeps each record's own (3-5 become 6). ``on_game(records_bytes)`` after each
        game. Raises RuntimeError when the native segment fails (no output tar is left then)."""
        native, outputs = self.native, _Outputs(Path(out_dir), self.files)
        result = RescoreResult()
        count_lock = threading.Lock()
        failures: list[BaseException] = []

        def pop_and_write() -> None:
            try:
                while True:
                    status, item = native.pop_chunk(self.out_q, 0.1, version)
                    if status < 0 or failures:
                        return
                    if status == 0:
                        continue
                    key, source, member, records = item
                    outputs.add(source, key, member, gzip.compress(records, gzip_level, mtime=0))
                    with count_lock:
                        result.games += 1
                        result.frames_bytes += len(records)
                    if on_game is not None:
                        on_game(len(records))
            except BaseException as exc:  # handed to the caller's thread
                failures.append(exc)

        threads = [
            threading.Thread(target=pop_and_write, name=f"rescore-writer-{i}", daemon=True)
            for i in range(writers or max(2, min(8, os.cpu_count() or 2)))
        ]
        native.start()
        for t in threads:
            t.start()
        try:
            for f in self.files:
                if not _push(native, self.in_q, str(f.path), lambda: bool(failures or native.errors())):
                    break
            native.close_input(self.in_q)
            for t in threads:
                while t.is_alive() and not native.errors():
                    t.join(0.1)
        except BaseException:
            native.stop()
            outputs.abandon()
            raise
        native.stop()
        for t in threads:
            t.join()
        result.stats = dict(native.stats())
        result.problems = list(native.problems())
        errors = native.errors()
        if failures or errors:
            outputs.abandon()
            if errors:
                raise RuntimeError("; ".join(errors))
            raise failures[0]
        result.files = outputs.commit()
        return result
