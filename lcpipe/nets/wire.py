"""Protocol-buffer wire format, just the parts lc0's network files use.

We read and write the wire format ourselves instead of depending on protoc
and generated code: lc0's ``Net`` message only needs varints, fixed32 and
length-delimited fields (sub-messages, strings, bytes, packed repeated
varints). Unknown fields are kept as raw (field, wire type, value) tuples so
a file survives a decode/encode round trip even when our schema lags lc0's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

# Wire types (the low 3 bits of a field key).
VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def encode_varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as 10-byte two's complement (int32/64)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, new position) of the varint starting at ``pos``."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def key(field: int, wire_type: int) -> bytes:
    return encode_varint((field << 3) | wire_type)


def field_varint(field: int, value: int) -> bytes:
    return key(field, VARINT) + encode_varint(int(value))


def field_fixed32(field: int, value: int) -> bytes:
    return key(field, FIXED32) + struct.pack("<I", int(value) & 0xFFFFFFFF)


def field_float(field: int, value: float) -> bytes:
    return key(field, FIXED32) + struct.pack("<f", float(value))


def field_bytes(field: int, value: bytes) -> bytes:
    return key(field, LEN) + encode_varint(len(value)) + bytes(value)


def field_packed_varints(field: int, values) -> bytes:
    body = b"".join(encode_varint(int(v)) for v in values)
    return field_bytes(field, body)


def iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | bytes | memoryview]]:
    """Yield (field number, wire type, value) for every field of a message.

    VARINT values are ints, FIXED32/FIXED64 are raw little-endian bytes, LEN
    values are memoryviews into ``buf`` (no copy: weight blobs are large).
    """
    view = memoryview(buf)
    pos = 0
    end = len(view)
    while pos < end:
        k, pos = decode_varint(view, pos)
        field, wire_type = k >> 3, k & 7
        if field == 0:
            raise WireError(f"field number 0 at byte {pos}")
        value: int | bytes | memoryview
        if wire_type == VARINT:
            value, pos = decode_varint(view, pos)
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise WireError("truncated fixed32")
            value = bytes(view[pos : pos + 4])
            pos += 4
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise WireError("truncated fixed64")
            value = bytes(view[pos : pos + 8])
            pos += 8
        elif wire_type == LEN:
            length, pos = decode_varint(view, pos)
            if pos + length > end:
                raise WireError(f"length-delimited field {field} runs past the end")
            value = view[pos : pos + length]
            pos += length
        else:
            raise WireError(f"unsupported wire type {wire_type} (field {field})")
        yield field, wire_type, value


def unpack_varints(buf: bytes | memoryview) -> list[int]:
    """The values of a packed repeated varint field."""
    out = []
    pos = 0
    while pos < len(buf):
        value, pos = decode_varint(buf, pos)
        out.append(value)
    return out


def fixed32_uint(raw: bytes) -> int:
    return struct.unpack("<I", raw)[0]


def fixed32_float(raw: bytes) -> float:
    return struct.unpack("<f", raw)[0]
