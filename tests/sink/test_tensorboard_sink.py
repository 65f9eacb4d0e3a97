"""sink.tensorboard writes valid TFRecord-framed Event protobufs, read back here
by an independent decoder (bitwise CRC-32C, hand-rolled protobuf wire parser)."""

from __future__ import annotations

import io
import struct

import pytest

from lcpipe.sink.tensorboard import (
    CorruptRecord,
    crc32c,
    encode_event,
    frame_record,
    masked_crc32c,
    read_records,
)


# -- an independent reader -------------------------------------------------------------
def bitwise_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def split_records(blob: bytes) -> list[bytes]:
    """Every record, asserting both framing CRCs."""
    records, pos = [], 0
    while pos < len(blob):
        length_bytes = blob[pos : pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        assert struct.unpack("<I", blob[pos + 8 : pos + 12])[0] == mask(bitwise_crc32c(length_bytes))
        payload = blob[pos + 12 : pos + 12 + length]
        assert struct.unpack("<I", blob[pos + 12 + length : pos + 16 + length])[0] == mask(
            bitwise_crc32c(payload)
        )
        records.append(payload)
        pos += 16 + length
    assert pos == len(blob)
    return records


def fields(data: bytes) -> list[tuple[int, object]]:
    """(field number, value) pairs of a protobuf message: varint, 64-bit, bytes, 32-bit."""
    out, pos = [], 0

    def varint():
        nonlocal pos
        shift = result = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 1:
            out.append((number, struct.unpack("<d", data[pos : pos + 8])[0]))
            pos += 8
        elif wire == 2:
            n = varint()
            out.append((number, data[pos : pos + n]))
            pos += n
        elif wire == 5:
            out.append((number, struct.unpack("<f", data[pos : pos + 4])[0]))
            pos += 4
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def decode_event(payload: bytes) -> dict:
    event = {"scalars": {}}
    for number, value in fields(payload):
        if number == 1:
            event["wall_time"] = value
        elif number == 2:
            event["step"] = value
        elif number == 3:
            event["file_version"] = value.decode()
        elif number == 5:
            for n, v in fields(value):
                assert n == 1
                parts = dict(fields(v))
                event["scalars"][parts[1].decode()] = parts[2]
    return event


# -- format facts ------------------------------------------------------------------------
def test_crc32c_matches_published_check_values():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    data = bytes(range(256)) * 3
    assert crc32c(data) == bitwise_crc32c(data)
    assert masked_crc32c(data) == mask(bitwise_crc32c(data))


def test_event_bytes_follow_the_protobuf_wire_format():
    payload = encode_event(1.5, step=3, scalars={"a": 2.0})
    value = b"\x0a\x01a" + b"\x15" + struct.pack("<f", 2.0)  # tag=1 "a", simple_value=2 (fixed32)
    summary = b"\x0a" + bytes([len(value)]) + value  # Summary.value=1
    expected = b"\x09" + struct.pack("<d", 1.5) + b"\x10\x03" + b"\x2a" + bytes([len(summary)]) + summary
    assert payload == expected
    first = encode_event(2.0, file_version="brain.Event:2")
    assert first == b"\x09" + struct.pack("<d", 2.0) + b"\x1a\x0dbrain.Event:2"
    big_step = decode_event(encode_event(0.0, step=2**40))
    assert big_step["step"] == 2**40


def test_reader_stops_at_a_torn_tail_and_rejects_corruption():
    blob = frame_record(b"first") + frame_record(b"second record")
    assert list(read_records(io.BytesIO(blob))) == [b"first", b"second record"]
    assert list(read_records(io.BytesIO(blob[:-3]))) == [b"first"]  # crash mid-write: tail ignored
    broken = bytearray(blob)
    broken[14] ^= 0x01  # a bit of the first payload
    with pytest.raises(CorruptRecord):
        list(read_records(io.BytesIO(bytes(broken))))


# -- the stage in a real pipeline ---------------------------------------------------------
def test_pipeline_metrics_land_in_one_events_file(tmp_path, make_runtime):
    out = tmp_path / "out.json"
    runtime = make_runtime(f"""
        runtime: {{metrics_interval: 0.05}}
        stages:
          src: {{use: toy.count, with: {{limit: 40, delay: 0.005}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
          tb: {{use: sink.tensorboard, with: {{dir: "{tmp_path / "tb"}", flush_every: 0.1,
                                               include: ["sink/*", "runtime/queue/*/fill"]}}}}
        """)
    result = runtime.run(install_signals=False)
    assert result.exit_code == 0, result.failures
    files = list((tmp_path / "tb").iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")
    blob = files[0].read_bytes()
    events = [decode_event(p) for p in split_records(blob)]
    assert list(read_records(io.BytesIO(blob))) == split_records(blob)
    assert events[0]["file_version"] == "brain.Event:2" and not events[0]["scalars"]
    received = [
        (e.get("step", 0), e["scalars"]["sink/received"]) for e in events if "sink/received" in e["scalars"]
    ]
    assert received == [(i, float(i)) for i in range(1, 41)]
    tags = {tag for e in events for tag in e["scalars"]}
    assert "internals/runtime/queue/sink.numbers/fill" in tags  # the runtime's queues fold into one group
    assert not any(t.endswith("/items") for t in tags)  # the include filter holds
    fills = [e for e in events if "internals/runtime/queue/sink.numbers/fill" in e["scalars"]]
    assert [e.get("step", 0) for e in fills] == list(range(len(fills)))  # unstepped: report count
    assert all(abs(e["wall_time"] - events[0]["wall_time"]) < 60 for e in events)


def test_a_restarted_run_continues_the_step_axes(tmp_path, make_runtime):
    body = f"""
        runtime: {{metrics_interval: 0.05}}
        stages:
          src: {{use: toy.count, with: {{limit: 30, delay: 0.005}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{tmp_path / "out.json"}"}}}}
          tb: {{use: sink.tensorboard, with: {{dir: "{tmp_path / "tb"}", flush_every: 0.1,
                                               include: ["runtime/queue/*/fill"]}}}}
        """
    steps = []
    for _run in range(2):
        assert make_runtime(body).run(install_signals=False).exit_code == 0
        newest = max((tmp_path / "tb").iterdir(), key=lambda p: p.stat().st_mtime_ns)
        events = [decode_event(p) for p in split_records(newest.read_bytes())]
        steps.append(
            [e.get("step", 0) for e in events if "internals/runtime/queue/sink.numbers/fill" in e["scalars"]]
        )
    first, second = steps
    assert first and second
    assert second[0] == first[-1] + 1 and second == list(range(second[0], second[0] + len(second)))
