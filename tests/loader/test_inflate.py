"""Our DEFLATE decoder and CRC-32 (csrc/loader/inflate.cpp, crc32.cpp)
against zlib: real lc0 chunks, streams of every block type zlib can write,
truncations and bit flips. Damage must give a clean error, never a crash,
and output only bytes that zlib also produces."""

from __future__ import annotations

import gzip
import os
import random
import zlib

import pytest

from lcpipe import _native
from lcpipe.lc0 import chunks, synth

L = _native.loader
STRATEGIES = (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED)


def deflate(data: bytes, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, mem=8) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15, mem, strategy)
    return c.compress(data) + c.flush()


def zlib_raw(data: bytes):
    """(output, error or None) of zlib on a raw DEFLATE stream."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data) + d.flush()
    except zlib.error as exc:
        return None, str(exc)
    return out, None if d.eof else "truncated"


def sample(rng: random.Random, n: int) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return os.urandom(n)
    if kind == 1:
        return bytes(rng.randrange(4) for _ in range(n))
    if kind == 2:  # short periods exercise overlapping copies
        p = os.urandom(rng.randrange(1, 12))
        return (p * (n // len(p) + 1))[:n]
    if kind == 3:  # runs of lc0's illegal-move marker (-1.0f) with a few values
        out = bytearray(b"\x00\x00\x80\xbf" * (n // 4))
        for _ in range(rng.randrange(1, 20)):
            if out:
                out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    return bytes(rng.choice(b"ab\x00\xff") for _ in range(n)) * rng.randrange(1, 5)


@pytest.fixture(scope="module")
def real_members(lc0_fixtures):
    tars = [lc0_fixtures / "lc0-selfplay" / f"selfplay-fmt{f}.tar" for f in (1, 3, 5)]
    return [gz for t in tars for _, _, gz in chunks.iter_raw_chunks(t)]


def test_real_chunks_match_zlib(real_members):
    for gz in real_members:
        want = zlib.decompress(gz, 31)
        assert L.gunzip(gz) == (want, "")
        assert L.gunzip(gz, "zlib") == (want, "")
        assert L.gunzip(gz, "native", False) == (want, "")


def test_every_block_type_and_level(real_members):
    rng = random.Random(3)
    datas = [zlib.decompress(gz, 31) for gz in real_members[::40]] + [sample(rng, 70000) for _ in range(5)]
    for data in datas:
        for strategy in STRATEGIES:
            for level in (0, 1, 6, 9):
                raw = deflate(data, level, strategy, rng.randrange(1, 10))
                out, err, used = L.inflate_raw(raw)
                assert err is None and out == data and used == len(raw), (strategy, level, err)


def test_random_streams_truncations_and_bit_flips():
    rng = random.Random(7)
    for i in range(1500):
        data = sample(rng, rng.randrange(0, 6000))
        raw = deflate(data, rng.choice([0, 1, 5, 9]), rng.choice(STRATEGIES), rng.randrange(1, 10))
        out, err, used = L.inflate_raw(raw + os.urandom(rng.randrange(3)))  # trailing bytes are not read
        assert err is None and out == data and used == len(raw)
        # truncated: an error, and only bytes of the real output
        out, err, _ = L.inflate_raw(raw[: rng.randrange(len(raw))])
        assert err is not None and data.startswith(out)
        # bit flips: success exactly when zlib succeeds, with its bytes
        bad = bytearray(raw)
        for _ in range(rng.randrange(1, 4)):
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        out, err, _ = L.inflate_raw(bytes(bad))
        want, zerr = zlib_raw(bytes(bad))
        assert (err is None) == (zerr is None), (i, err, zerr)
        if err is None:
            assert out == want


def test_garbage_never_crashes():
    rng = random.Random(11)
    for _ in range(3000):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        out, err, used = L.inflate_raw(junk)
        want, zerr = zlib_raw(junk)
        assert (err is None) == (zerr is None)
        assert used <= len(junk)


def test_damaged_gzip_gives_zlibs_bytes_and_message(real_members):
    """The loader's gunzip hands damage to zlib, so the kept bytes and the
    message are the reference reader's."""
    rng = random.Random(5)
    for gz in real_members[:60]:
        cut = gz[: rng.randrange(1, len(gz))]
        assert L.gunzip(cut) == L.gunzip(cut, "zlib")
        bad = bytearray(gz)
        bad[rng.randrange(10, len(bad))] ^= 0xFF
        assert L.gunzip(bytes(bad)) == L.gunzip(bytes(bad), "zlib")


def test_crc_mismatch_and_multi_member(tmp_path):
    data = gzip.decompress(synth.write_games(tmp_path, 1, seed=3, max_plies=12)[0].read_bytes())
    gz = bytearray(gzip.compress(data))
    gz[-8] ^= 1  # wrong CRC: only the checksum test sees it
    out, err = L.gunzip(bytes(gz))
    assert err and out == data  # zlib keeps the bytes and reports the check
    assert L.gunzip(bytes(gz), "native", False) == (data, "")
    two = gzip.compress(data[:5000]) + gzip.compress(data[5000:]) + b"\0" * 10
    assert L.gunzip(two) == (data, "")


def test_crc32_matches_zlib():
    rng = random.Random(2)
    for n in list(range(0, 200)) + [rng.randrange(200, 100000) for _ in range(50)]:
        data = os.urandom(n)
        start = rng.randrange(2**32)
        fast, table = L.crc32(data, start)
        assert fast == table == zlib.crc32(data, start)
