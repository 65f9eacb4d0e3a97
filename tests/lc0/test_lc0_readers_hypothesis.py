"""Property tests: the readers never crash and never drop valid data."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lc0_testlib import games

from lcpipe.lc0 import chunks
from lcpipe.lc0 import frames as fr
from lcpipe.lc0.report import ReadReport

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GAME = games(3, seed=41, version=7, max_plies=30)
RAW = b"".join(a.tobytes() for _, a in GAME[:1])
GZ = chunks.gzip_frames(GAME[0][1])
TAR = chunks.tar_bytes([(n, chunks.gzip_frames(a)) for n, a in GAME])


@SETTINGS
@given(st.binary(max_size=20000))
def test_parse_random_bytes(data):
    report = ReadReport()
    out = fr.parse(data, "r", report)
    assert all(r is None for r in fr.bad_frame_reason(out))
    if len(data):
        assert len(out) > 0 or report.skipped > 0


@SETTINGS
@given(
    st.integers(0, len(RAW)),
    st.lists(st.tuples(st.integers(0, len(RAW) - 1), st.integers(0, 255)), max_size=8),
)
def test_parse_corrupted_records(cut, edits):
    data = bytearray(RAW[:cut])
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    report = ReadReport()
    out = fr.parse(bytes(data), "c", report)
    size = fr.V7_DTYPE.itemsize
    # every intact whole record before the first damaged one is kept, bytes unchanged
    first_edit = min([p for p, _ in edits if p < len(data)] + [len(data)])
    intact = min(first_edit, cut) // size
    if out.dtype == fr.V7_DTYPE and intact:
        assert out[:intact].tobytes() == RAW[: intact * size]
    assert len(out) + report.skipped >= 1 or cut == 0


@SETTINGS
@given(st.integers(0, len(GZ)))
def test_truncated_gzip_keeps_a_prefix(cut):
    report = ReadReport()
    raw = chunks.gunzip(GZ[:cut], "t.gz", report=report)
    assert RAW.startswith(raw)
    assert report.ok == (cut == len(GZ))


@SETTINGS
@given(
    st.integers(0, len(TAR)),
    st.lists(st.tuples(st.integers(0, len(TAR) - 1), st.integers(0, 255)), max_size=4),
)
def test_corrupted_tar(tmp_path_factory, cut, edits):
    data = bytearray(TAR[:cut])
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    path = tmp_path_factory.mktemp("tar") / "x.tar"
    path.write_bytes(bytes(data))
    report = ReadReport()
    got = dict(chunks.iter_games(path, report))
    # members lying wholly before the first damage come back unchanged
    damage = min([p for p, _ in edits if p < len(data)] + [cut])
    offset = 0
    for name, arr in GAME:
        gz = chunks.gzip_frames(arr)
        start = TAR.find(gz, offset)
        end = start + len(gz)
        offset = end
        if end <= damage and start - 512 >= 0:
            header_ok = not any(start - 512 - 1024 <= p < start for p, _ in edits if p < len(data))
            if header_ok:
                assert got[name].tobytes() == arr.tobytes()


@SETTINGS
@given(st.binary(max_size=5000))
def test_random_tar_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rnd") / "r.tar"
    path.write_bytes(data)
    report = ReadReport()
    assert isinstance(list(chunks.iter_games(path, report)), list)
