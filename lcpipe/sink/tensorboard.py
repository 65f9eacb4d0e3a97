"""sink.tensorboard: every numeric metric as a TensorBoard scalar, "stage/metric".

The internals of a run (the runtime's queues, the counters of fused native
segments such as the loader) are tagged "internals/stage/metric", so they
fold into one group and the main scalars stay easy to find. A restarted run
continues its step axes: metrics without a step of their own take their
report count, which carries on from the events files already in the
directory; stepped metrics (training step, self-play games) carry their own.

We write the event file format ourselves so that TensorBoard logs cost no
TensorFlow dependency. An events file is a sequence of TFRecords
(length, masked CRC-32C of the length, payload, masked CRC-32C of the payload),
each payload one serialized ``Event`` protobuf; the first carries the file
version, the others a ``Summary`` of scalar values.

Event files are append-only logs that TensorBoard reads while they grow, so
the "write a temp file, then rename" rule does not apply: a torn last record
is detected by its CRC and ignored by readers instead.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lcpipe.runtime.bus import Event
from lcpipe.runtime.stage import Stage
from lcpipe.sink.metric_filter import metric_matcher

FILE_VERSION = "brain.Event:2"

# -- CRC-32C (Castagnoli), the checksum TFRecord uses --------------------------------


def _crc_table() -> list[int]:
    poly = 0x82F63B78  # reversed Castagnoli polynomial
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord stores CRCs rotated and offset so CRCs of CRCs stay well spread."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + payload
        + struct.pack("<I", masked_crc32c(payload))
    )


class CorruptRecord(ValueError):
    """A record whose length or payload does not match its CRC."""


def read_records(stream: BinaryIO) -> Iterator[bytes]:
    """Payloads of a TFRecord stream, checking both CRCs; a torn tail ends the stream."""
    while True:
        header = stream.read(12)
        if len(header) < 12:
            return
        length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
        if masked_crc32c(length_bytes) != length_crc:
            raise CorruptRecord("record length fails its CRC")
        (length,) = struct.unpack("<Q", length_bytes)
        payload = stream.read(length)
        footer = stream.read(4)
        if len(payload) < length or len(footer) < 4:
            return
        if masked_crc32c(payload) != struct.unpack("<I", footer)[0]:
            raise CorruptRecord("record payload fails its CRC")
        yield payload


# -- the few protobuf fields of Event / Summary we need --------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values are sent as 10-byte two's complement
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _length_delimited(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def encode_event(
    wall_time: float, step: int = 0, file_version: str | None = None, scalars: dict[str, float] | None = None
) -> bytes:
    """Event{wall_time=1 double, step=2 int64, file_version=3 string, summary=5 Summary}.

    Summary{value=1 repeated Value}; Value{tag=1 string, simple_value=2 float}.
    """
    out = _key(1, 1) + struct.pack("<d", wall_time)
    if step:
        out += _key(2, 0) + _varint(step)
    if file_version is not None:
        out += _length_delimited(3, file_version.encode())
    if scalars:
        summary = b"".join(
            _length_delimited(1, _length_delimited(1, tag.encode()) + _key(2, 5) + struct.pack("<f", value))
            for tag, value in scalars.items()
        )
        out += _length_delimited(5, summary)
    return out


def _float32(value: float) -> float:
    """Clamp to float32's range so struct.pack never raises on huge values."""
    limit = 3.4028234663852886e38
    if value != value or value in (float("inf"), float("-inf")):
        return value
    return max(-limit, min(limit, value))


# -- the sink -------------------------------------------------------------------------


_FILE_SEQ = itertools.count()


class EventFileWriter:
    """One events file; thread-safe appends, explicit flushes."""

    def __init__(self, directory: Path, suffix: str = ""):
        directory.mkdir(parents=True, exist_ok=True)
        # a new file per writer (two runs of one process in one second included): never append to an old one
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}"
            f".{next(_FILE_SEQ)}{suffix}"
        )
        self.path = directory / name
        self._file = open(self.path, "ab")
        self._lock = threading.Lock()
        self.records = 0
        self.write(encode_event(time.time(), file_version=FILE_VERSION))
        self.flush()

    def write(self, event: bytes) -> None:
        with self._lock:
            self._file.write(frame_record(event))
            self.records += 1

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


INTERNALS = "internals"


def _event_step_and_tags(payload: bytes) -> tuple[int, list[str]]:
    """Step and scalar tags of one Event we wrote (the few fields encode_event uses)."""
    step, tags, _pos = 0, [], 0

    def varint(data: bytes, pos: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result, pos

    def walk(data: bytes):
        pos = 0
        while pos < len(data):
            key, pos = varint(data, pos)
            number, wire = key >> 3, key & 7
            value: int | bytes
            if wire == 0:
                value, pos = varint(data, pos)
            elif wire == 1:
                value, pos = data[pos : pos + 8], pos + 8
            elif wire == 5:
                value, pos = data[pos : pos + 4], pos + 4
            elif wire == 2:
                n, pos = varint(data, pos)
                value, pos = data[pos : pos + n], pos + n
            else:
                raise ValueError(f"wire type {wire}")
            yield number, value

    for number, value in walk(payload):
        if number == 2:
            step = value
        elif number == 5:
            for _, item in walk(value):
                tags += [v.decode(errors="replace") for n, v in walk(item) if n == 1]
    return step, tags


def resume_counters(directory: Path) -> dict[str, int]:
    """Per stage, the next report count for unstepped metrics, from the events files of earlier runs."""
    counters: dict[str, int] = {}
    for path in sorted(directory.glob("events.out.tfevents.*")) if directory.is_dir() else []:
        try:
            with open(path, "rb") as f:
                for payload in read_records(f):
                    step, tags = _event_step_and_tags(payload)
                    for tag in tags:
                        parts = tag.split("/")
                        stage = parts[1] if parts[0] == INTERNALS and len(parts) > 2 else parts[0]
                        counters[stage] = max(counters.get(stage, 0), step + 1)
        except (OSError, ValueError, IndexError, CorruptRecord):
            continue  # a damaged old file only costs its counts
    return counters


class TensorboardSink(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.keep = metric_matcher(self.config["include"])
        directory = Path(self.config["dir"])
        self.dir = directory if directory.is_absolute() else ctx.workdir / directory
        self.writer: EventFileWriter | None = None
        self._counters: dict[str, int] = {}  # stage -> metric events without a step seen so far
        self._internal: set[str] = {"runtime"}  # stages whose metrics are tagged internals/...
        self.skipped = 0

    def _on_event(self, event: Event) -> None:
        if event.kind == "pipeline":
            plan = event.data.get("plan") or {}
            self._internal |= {s["name"] for s in plan.get("segments", []) if s.get("engine")}
            return
        step = event.data.get("step")
        if step is None:
            # Unstepped reports (queues, loader rates) get their report count as step.
            step = self._counters.get(event.stage, 0)
            self._counters[event.stage] = step + 1
        scalars: dict[str, float] = {}
        for name, value in event.data.get("values", {}).items():
            if not self.keep(event.stage, name):
                continue
            prefix = f"{INTERNALS}/{event.stage}" if event.stage in self._internal else event.stage
            try:
                scalars[f"{prefix}/{name}"] = _float32(float(value))
            except (TypeError, ValueError):
                self.skipped += 1  # strings and such have no scalar plot
        if scalars and self.writer is not None:
            self.writer.write(encode_event(event.time, int(step), scalars=scalars))

    def run(self) -> None:
        self._counters = resume_counters(self.dir)
        self.writer = EventFileWriter(self.dir)
        self.ctx.info(f"writing TensorBoard events to {self.writer.path}")
        sub = self.ctx.bus.subscribe(self._on_event, kinds={"metrics", "pipeline"})
        while self.ctx.sleep(self.config["flush_every"]):
            self.writer.flush()
        sub.close()
        self.writer.close()
        if self.skipped:
            self.ctx.warning(f"skipped {self.skipped} non-numeric metric values")
