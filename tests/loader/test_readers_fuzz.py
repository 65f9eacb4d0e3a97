"""The C++ tar and chunk readers: every tar flavour lc0 data comes in, and a
bounded random fuzz (mutations of real data) that must never crash."""

from __future__ import annotations

import io
import random
import tarfile

import numpy as np
import pytest

from lcpipe import _native
from lcpipe.lc0 import chunks, synth, tensors
from lcpipe.lc0.report import ReadReport
from lcpipe.lc0.tario import iter_members

L = _native.loader


def make_tar(fmt, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in members:
            if name.endswith("/"):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


LONG = "training-run1-" + "x" * 120 + "/game_000001.gz"


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_tar_flavours_match_python_reader(fmt):
    members = [
        ("dir/", b""),
        ("dir/game_000000.gz", b"a" * 700),
        ("LICENSE", b"text"),
        ("game_000002.gz", b""),
    ]
    if fmt != tarfile.USTAR_FORMAT:
        members.append((LONG, b"b" * 1500))
    if fmt == tarfile.PAX_FORMAT:
        members.append(("ünïcode_game.gz", b"c" * 10))
    data = make_tar(fmt, members)
    got, problems, skipped = L.tar_index(data)
    want = [(m.name, m.offset, m.size) for m in iter_members(io.BytesIO(data), "t")]
    assert got == want
    assert not problems


def test_old_style_headers():
    data = bytearray(make_tar(tarfile.USTAR_FORMAT, [("game_1.gz", b"z" * 600)]))
    # turn the ustar header into an old-style (v7) one: type '\0', no magic
    data[156] = 0
    data[257:265] = b"\0" * 8
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    got, problems, _ = L.tar_index(bytes(data))
    assert got == [("game_1.gz", 512, 600)]
    assert not problems


def test_chunk_decoder_matches_reference_on_real_members(lc0_fixtures):
    tar = lc0_fixtures / "lc0-selfplay" / "selfplay-fmt5.tar"
    for i, (_, _, gz) in enumerate(chunks.iter_raw_chunks(tar)):
        if i % 10:
            continue
        (inputs, probs, values, opp, nxt), problems = L.decode_gz(gz)
        ref = tensors.frames_to_batch(chunks.parse_chunk(gz))
        assert not problems
        np.testing.assert_array_equal(inputs, ref.inputs)
        np.testing.assert_array_equal(probs, ref.probabilities)


def test_fuzz_chunk_reader_never_crashes():
    rng = random.Random(1234)
    games = synth.generate_games(3, seed=4, input_format=3, version=7, max_plies=8)
    seeds = [chunks.gzip_frames(arr) for _, arr in games]
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            pos = rng.randrange(len(data)) if data else 0
            if op < 0.5 and data:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos : pos + rng.randint(1, 200)]
            elif op < 0.85:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
            else:
                data = data[: rng.randrange(len(data) + 1)]
        (inputs, probs, values, opp, nxt), problems = L.decode_gz(bytes(data))
        assert inputs.shape[0] == probs.shape[0] == values.shape[0]
        if len(inputs):  # whatever survives is a valid training row
            legal = probs >= 0
            assert legal.any(axis=1).all()
            assert np.isfinite(probs).all()


def test_fuzz_tar_reader_never_crashes_and_stays_in_bounds(lc0_fixtures):
    rng = random.Random(99)
    base = (lc0_fixtures / "lc0-selfplay" / "selfplay-fmt3.tar").read_bytes()[:40000]
    pax = make_tar(tarfile.PAX_FORMAT, [(LONG, b"q" * 3000), ("a.gz", b"w" * 100)])
    gnu = make_tar(tarfile.GNU_FORMAT, [(LONG, b"q" * 3000), ("a.gz", b"w" * 100)])
    for i in range(400):
        data = bytearray(rng.choice([base, pax, gnu]))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[pos] = rng.randrange(256)
            else:
                data = data[:pos]
                break
        members, problems, skipped = L.tar_index(bytes(data))
        for _name, offset, size in members:
            assert offset + size <= len(data)
        # the Python reader agrees on what is readable
        report = ReadReport()
        want = [(m.name, m.offset, m.size) for m in iter_members(io.BytesIO(bytes(data)), "t", report)]
        # names agree where they are valid UTF-8 (both readers replace bad bytes)
        assert [(o, n) for _, o, n in members] == [(o, n) for _, o, n in want], i
        assert [a for a, _, _ in members if "\ufffd" not in a] == [a for a, _, _ in want if "\ufffd" not in a]
