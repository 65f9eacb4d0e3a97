"""A small, forgiving reader of tar archives (lc0 training data tars).

Why not ``tarfile``: we must keep going after a broken header (resync on the
next valid one), report every skipped entry with its name, and stream large
archives member by member without extracting. Handled: ustar and old-style
(v7) headers, regular files with type '0', '\\0' or '7', PAX extended
headers ('x' per entry, 'g' global: path and size keys), GNU long names
('L') and long link names ('K'), base-256 sizes. Directories, links and
other entry types are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lcpipe.lc0.report import ReadReport

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")
_NO_DATA = (b"1", b"2", b"3", b"4", b"5", b"6")  # links, devices, dirs, fifos


@dataclass
class TarMember:
    name: str
    size: int
    offset: int  # of the data in the archive


class TarError(ValueError):
    pass


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = field[0] & 0x3F
        for b in field[1:]:
            value = (value << 8) | b
        if field[0] & 0x40:
            value -= 1 << (6 + 8 * (len(field) - 1))
        return value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarError(f"bad number field {field!r}") from None


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _number(header[148:156])
    except TarError:
        return False
    blanked = header[:148] + b" " * 8 + header[156:]
    unsigned = sum(blanked)
    signed = unsigned - 256 * sum(1 for b in blanked if b > 127)
    return stored in (unsigned, signed)


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "replace")


def _pax(data: bytes) -> dict[str, str]:
    """Records "LEN key=value\\n" of a PAX header."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarError("bad PAX record length") from None
        if length <= 0:
            raise TarError("bad PAX record length")
        record = data[space + 1 : pos + length]
        if record.endswith(b"\n"):
            record = record[:-1]
        key, sep, value = record.partition(b"=")
        if not sep:
            raise TarError("bad PAX record")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos += length
    return out


def iter_members(f: BinaryIO, source: str, report: ReadReport | None = None) -> Iterator[TarMember]:
    """Regular-file members of an open tar, in archive order.

    Broken headers are reported and skipped by scanning for the next block
    that is a valid header; truncated members are reported.
    """
    f.seek(0, 2)
    total = f.tell()
    pos = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    global_pax: dict[str, str] = {}
    resyncing = False
    while pos + BLOCK <= total:
        f.seek(pos)
        header = f.read(BLOCK)
        if header == b"\0" * BLOCK:
            if resyncing:
                pos += BLOCK
                continue
            break  # end of archive
        if not _checksum_ok(header):
            if not resyncing:
                _bad(report, source, f"broken tar header at byte {pos}", "")
                resyncing = True
            pos += BLOCK
            continue
        resyncing = False
        kind = header[156:157]
        try:
            size = _number(header[124:136])
        except TarError:
            _bad(report, source, f"broken tar header at byte {pos}: bad size", "")
            resyncing = True
            pos += BLOCK
            continue
        name = _text(header[0:100])
        if header[257:262] == b"ustar":
            prefix = _text(header[345:500]) if header[257:263] == b"ustar\0" else ""
            if prefix:
                name = prefix + "/" + name
        data_pos = pos + BLOCK
        if kind in (b"x", b"g", b"L", b"K"):
            f.seek(data_pos)
            data = f.read(size)
            if len(data) < size:
                _bad(report, source, "truncated tar extension header", name)
                return
            try:
                if kind == b"x":
                    pax = _pax(data)
                elif kind == b"g":
                    global_pax.update(_pax(data))
                elif kind == b"L":
                    long_name = data.split(b"\0", 1)[0].decode("utf-8", "replace")
            except TarError as exc:
                _bad(report, source, f"{exc} at byte {pos}", name)
                pax = {}
            pos = data_pos + _padded(size)
            continue
        merged = {**global_pax, **pax}
        if "path" in pax:
            name = pax["path"]
        elif long_name is not None:
            name = long_name
        if "size" in merged:
            try:
                size = int(merged["size"])
            except ValueError:
                pass
        pax, long_name = {}, None
        if kind in _NO_DATA or (kind == b"\0" and name.endswith("/")):
            if report is not None and kind != b"5" and not name.endswith("/"):
                report.skipped_members += 1
            pos = data_pos if kind in _NO_DATA else data_pos + _padded(size)
            continue
        if data_pos + size > total:
            _bad(report, source, f"truncated member ({total - data_pos} of {size} bytes)", name)
            return
        if kind in _REGULAR:
            yield TarMember(name, size, data_pos)
        elif report is not None:
            report.skipped_members += 1
        pos = data_pos + _padded(size)


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def _bad(report: ReadReport | None, source: str, message: str, member: str) -> None:
    if report is None:
        raise TarError(f"{source}: {member + ': ' if member else ''}{message}")
    report.bad(source, message, member=member)
