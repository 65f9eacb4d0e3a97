"""Frame records, chunks and tars: layout, round trips, bad input."""

from __future__ import annotations

import gzip
import io
import tarfile

import numpy as np
import pytest
from lc0_testlib import games

from lcpipe.lc0 import chunks
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.report import ReadReport
from lcpipe.lc0.tario import TarError


def test_record_sizes_and_offsets():
    assert fr.V6_DTYPE.itemsize == 8356 and fr.V7_DTYPE.itemsize == 8396
    f6 = fr.V6_DTYPE.fields
    assert f6["probabilities"][1] == 8 and f6["planes"][1] == 7440
    assert f6["castling_us_ooo"][1] == 8272 and f6["side_to_move_or_enpassant"][1] == 8276
    assert f6["root_q"][1] == 8280 and f6["plies_left"][1] == 8304 and f6["result_q"][1] == 8308
    assert f6["played_q"][1] == 8316 and f6["orig_q"][1] == 8328 and f6["visits"][1] == 8340
    assert f6["played_idx"][1] == 8344 and f6["policy_kld"][1] == 8348 and f6["reserved"][1] == 8352
    f7 = fr.V7_DTYPE.fields
    assert f7["q_st"][1] == 8352 and f7["opp_played_idx"][1] == 8360 and f7["reserved"][1] == 8364
    assert [fr.RECORD_SIZES[v] for v in (3, 4, 5)] == [8276, 8292, 8308]


def test_real_bytes_round_trip(selfplay_dir):
    raw = next(iter(chunks.iter_chunks(selfplay_dir / "selfplay-fmt1.tar"))).data
    arr = fr.parse(raw)
    assert arr.dtype == fr.V6_DTYPE and arr.tobytes() == raw


@pytest.mark.parametrize("version", [6, 7])
def test_write_and_read_chunk_and_tar(tmp_path, version):
    gs = games(3, seed=1, version=version)
    for name, arr in gs:
        chunks.write_chunk(tmp_path / name, arr)
    tar = chunks.write_tar(tmp_path / "all.tar", gs)
    for name, arr in gs:
        back = chunks.read_frames(tmp_path / name)
        assert back.dtype == arr.dtype and back.tobytes() == arr.tobytes()
    keys = [k for k, _ in chunks.iter_games(tar)]
    assert keys == [n for n, _ in gs]
    assert chunks.read_frames(tar).tobytes() == b"".join(a.tobytes() for _, a in gs)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left


def _old_record(version: int, result: int, src: np.void) -> bytes:
    old = np.zeros(1, dtype=fr.DTYPES[version])
    old["version"] = version
    if version == 5:
        old["input_format"] = 1
    old["probabilities"] = src["probabilities"]
    old["planes"] = src["planes"]
    old["castling"] = [1, 1, 0, 1]
    old["side_to_move"] = 1
    old["rule50_count"] = 7
    old["result"] = result
    old["move_count"] = 37
    if version >= 4:
        old["root_q"] = 0.25
        old["best_d"] = 0.5
    if version == 5:
        old["plies_left"] = 33
    return old.tobytes()


@pytest.mark.parametrize("version", [3, 4, 5])
def test_old_versions_upgrade_to_v7(version):
    src = games(1, seed=2)[0][1][0]
    raw = _old_record(version, -1, src) + _old_record(version, 0, src)
    arr = fr.parse(raw)
    assert arr.dtype == fr.V7_DTYPE and len(arr) == 2
    assert (arr["version"] == 7).all() and (arr["input_format"] == 1).all()
    assert np.array_equal(arr["planes"][0], src["planes"])
    assert np.array_equal(arr["probabilities"][0], src["probabilities"])
    assert arr["castling_them_ooo"][0] == 0 and arr["castling_them_oo"][0] == 1
    assert arr["side_to_move_or_enpassant"][0] == 1 and arr["rule50_count"][0] == 7
    assert list(arr["result_q"]) == [-1, 0] and list(arr["result_d"]) == [0, 1]
    assert np.isnan(arr["orig_q"]).all() and (arr["opp_played_idx"] == 65535).all()
    assert arr["root_q"][0] == (0.25 if version >= 4 else 0)
    assert arr["plies_left"][0] == (33 if version == 5 else 0)
    assert arr["invariance_info"][0] == (37 if version == 5 else 0)  # V3/V4: a move count, dropped


def test_bad_frames_are_reported_and_skipped():
    arr = np.array(games(1, seed=3)[0][1][:5])
    arr["probabilities"][1, 10] = np.nan
    arr["probabilities"][2, 11] = -0.5
    arr["input_format"][3] = 9
    report = ReadReport()
    out = fr.parse(arr.tobytes() + b"\x06\x00\x00", "x.gz", report)
    assert len(out) == 2 and out.tobytes() == arr[[0, 4]].tobytes()
    msgs = [(p.frame, p.message) for p in report.problems]
    assert msgs[0] == (1, "NaN or infinite probability")
    assert msgs[1] == (2, "negative probability other than -1")
    assert msgs[2] == (3, "unknown input format 9")
    assert msgs[3][0] == 5 and "trailing" in msgs[3][1]
    with pytest.raises(fr.FrameError):
        fr.parse(arr.tobytes())


def test_unknown_version_and_truncated_gzip(tmp_path):
    arr = games(1, seed=4)[0][1]
    bad = np.array(arr[:2])
    bad["version"][1] = 99
    report = ReadReport()
    out = fr.parse(bad.tobytes(), "v.gz", report)
    assert len(out) == 1 and "unknown record version 99" in report.problems[0].message
    gz = chunks.gzip_frames(arr)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gz[: len(gz) // 2])
    report = ReadReport()
    back = chunks.read_frames(cut, report)
    assert report.problems[0].message == "truncated gzip stream"
    assert 0 < len(back) < len(arr) and back.tobytes() == arr[: len(back)].tobytes()
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"not gzip at all")
    report = ReadReport()
    assert len(chunks.read_frames(garbage, report)) == 0 and "corrupt gzip" in report.problems[0].message


def _strip_end(raw: bytes) -> bytes:
    """Drop the end-of-archive zero blocks (block alignment kept)."""
    end = raw.rstrip(b"\0")
    return end + b"\0" * (-len(end) % 512)


def _tar_with_everything(gs) -> bytes:
    """A tar with PAX x/g headers, a GNU long name, a directory, a LICENSE and chunks."""
    buf = io.BytesIO()
    long_name = "very/" + "long_directory_name/" * 8 + gs[1][0]
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "global header"}
    ) as tar:
        d = tarfile.TarInfo("dir/")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in (("LICENSE", b"GPL"), ("dir/" + gs[0][0], chunks.gzip_frames(gs[0][1]))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = {"mtime": "1.5"}
            tar.addfile(info, io.BytesIO(data))
    gnu = io.BytesIO()
    with tarfile.open(fileobj=gnu, mode="w", format=tarfile.GNU_FORMAT) as tar:
        data = chunks.gzip_frames(gs[1][1])
        info = tarfile.TarInfo(long_name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert b"././@LongLink" in gnu.getvalue()
    raw = _strip_end(buf.getvalue()) + _strip_end(gnu.getvalue())
    # an old-style (v7) entry: no magic, type flag '\0'
    data = chunks.gzip_frames(gs[2][1])
    header = bytearray(512)
    header[0 : len(gs[2][0])] = gs[2][0].encode()
    header[100:108] = b"0000644\0"
    header[124:136] = f"{len(data):011o}\0".encode()
    header[136:148] = b"00000000000\0"
    header[156] = 0
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    return raw + bytes(header) + data + b"\0" * (-len(data) % 512) + b"\0" * 1024


def test_tar_pax_gnu_oldstyle_and_skips(tmp_path):
    gs = games(3, seed=5)
    path = tmp_path / "mixed.tar"
    path.write_bytes(_tar_with_everything(gs))
    report = ReadReport()
    got = list(chunks.iter_games(path, report))
    assert [k for k, _ in got] == [n for n, _ in gs]
    for (_, a), (_, b) in zip(got, gs):
        assert a.tobytes() == b.tobytes()
    assert report.ok and report.skipped_members >= 1  # LICENSE


def test_broken_tar_header_resyncs(tmp_path):
    gs = games(3, seed=6)
    raw = bytearray(chunks.tar_bytes([(n, chunks.gzip_frames(a)) for n, a in gs]))
    # find the second member's header and break its checksum
    second = raw.find(gs[1][0].encode(), 1024)
    header_start = second - second % 512
    raw[header_start + 150] ^= 0x11
    path = tmp_path / "broken.tar"
    path.write_bytes(bytes(raw))
    report = ReadReport()
    keys = [k for k, _ in chunks.iter_games(path, report)]
    assert keys == [gs[0][0], gs[2][0]]
    assert "broken tar header" in report.problems[0].message
    with pytest.raises(TarError):
        list(chunks.iter_games(path))


def test_missing_file_is_reported(tmp_path):
    report = ReadReport()
    assert len(chunks.read_frames(tmp_path / "nope.gz", report)) == 0
    assert "cannot read" in report.problems[0].message


def test_multi_member_gzip():
    gs = games(2, seed=8)
    data = chunks.gzip_frames(gs[0][1]) + gzip.compress(gs[1][1].tobytes())
    arr = chunks.parse_chunk(data)
    assert len(arr) == len(gs[0][1]) + len(gs[1][1])


def test_v6_v7_conversion_and_mixed_reads(tmp_path):
    v6 = games(1, seed=9, version=6)[0][1]
    v7 = fr.to_v7(v6)
    assert v7.dtype == fr.V7_DTYPE and (v7["version"] == 7).all()
    assert np.isnan(v7["q_st"]).all() and (v7["next_played_idx"] == 65535).all()
    assert fr.to_v6(v7).tobytes() == v6.tobytes()
    chunks.write_chunk(tmp_path / "a.gz", v6)
    chunks.write_chunk(tmp_path / "b.gz", games(1, seed=10, version=7)[0][1])
    mixed = chunks.read_frames([tmp_path / "a.gz", tmp_path / "b.gz"])
    assert mixed.dtype == fr.V7_DTYPE and mixed[: len(v6)].tobytes() == v7.tobytes()
