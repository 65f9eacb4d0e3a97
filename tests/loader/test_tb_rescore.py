"""Syzygy rescoring in loader.rescore: the native pipeline's result targets
equal the Python reference (lcpipe.lc0.tablebase_rescore, python-chess's
prober) frame for frame, and bad tables or settings never hurt the loader."""

from __future__ import annotations

import chess
import chess.syzygy
import numpy as np
import pytest
from loader_testlib import Link, Member, build_chain, defaults, lseg, run_chain

from lcpipe import _native
from lcpipe.lc0 import chunks, synth
from lcpipe.lc0.tablebase_rescore import TablebaseRescorer

# 3-5 pieces: the 5-piece starts enter the 4-piece tables by a capture; the
# last two have en passant captures available at once.
MATERIALS = ["KQvKR", "KRvKP", "KPvKP", "KRvKN", "KQvKP", "KRPvKR", "KQPvKQ", "KPPvKP", "KBPvKN", "KRvKB"]
EP_STARTS = ["4k3/8/8/8/3pP3/8/8/4K3 b - e3 0 1", "8/8/2k5/8/4Pp2/8/8/1K6 b - e3 0 1"]


def start_fens(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [synth.random_endgame(rng, m) for m in MATERIALS] + EP_STARTS


def in_order(rescore: dict) -> list:
    return [
        ("loader.read", {"newest_first": False}),
        ("loader.extract", {"shuffle": False}),
        ("loader.rescore", {"threads": 1, **rescore}),
        ("loader.unpack", {"shuffle": False, "threads": 1}),
        ("loader.batch", {"batch_size": 500, "threads": 1}),
    ]


def reference(paths, syzygy_dir):
    """Per game: (original frames, rescored frames); and the reference's counts."""
    games = []
    with TablebaseRescorer([syzygy_dir]) as tb:
        for p in paths:
            frames = chunks.read_frames(p)
            games.append((frames, tb.rescore(frames)))
        return games, tb.stats


def tb_stats(result) -> dict:
    return {k.split("/")[1]: v for k, v in result.stats.items() if k.startswith("s2_rescore/tb_")}


@pytest.mark.parametrize("fmt", [1, 3, 5])
@pytest.mark.parametrize("version", [6, 7])
def test_native_result_targets_match_reference(tmp_path, syzygy_dir, fmt, version):
    fens = start_fens(fmt * 10 + version)
    paths = synth.write_games(
        tmp_path,
        2 * len(fens),
        seed=fmt + version,
        input_format=fmt,
        version=version,
        max_plies=60,
        start_fens=fens,
    )
    games, stats = reference(paths, syzygy_dir)
    ref = np.concatenate([np.stack([g["result_q"], g["result_d"]], 1) for _, g in games])
    plain = run_chain(paths, in_order({}))
    tb = run_chain(paths, in_order({"syzygy_paths": [str(syzygy_dir)]}))
    assert len(tb) == len(ref) == len(plain)
    np.testing.assert_array_equal(tb.values[:, 0, :2], ref)
    # only the result target moves: inputs, policy, plies_left and the search values stay
    np.testing.assert_array_equal(tb.inputs, plain.inputs)
    np.testing.assert_array_equal(tb.probabilities, plain.probabilities)
    np.testing.assert_array_equal(tb.values[:, 0, 2], plain.values[:, 0, 2])
    np.testing.assert_array_equal(tb.values[:, 1:5], plain.values[:, 1:5])
    # the reference found something to change, and the native metrics count the same
    changed = (tb.values[:, 0, :2] != plain.values[:, 0, :2]).any(1).sum()
    assert stats.frames_changed == changed > 0
    assert tb_stats(tb) == {
        "tb_games": stats.games,
        "tb_frames_changed": stats.frames_changed,
        "tb_probes": stats.probes,
        "tb_misses": 0,
    }
    assert stats.games >= len(games) // 2
    # some game that started with 5 pieces reached the 4-piece tables by a capture and was rescored
    five = [(a, b) for a, b in games if a is not None and len(a) and chess.popcount(_occupied(a[0])) == 5]
    assert any(
        (a["result_q"] != b["result_q"]).any() or (a["result_d"] != b["result_d"]).any() for a, b in five
    )
    assert not [p for p in tb.problems if not p.startswith("info: ")]


def _occupied(frame) -> int:
    from lcpipe.lc0.decoder import decode_frame

    return decode_frame(frame).board.occupied


def test_without_syzygy_paths_nothing_changes(tmp_path):
    paths = synth.write_games(
        tmp_path, 8, seed=3, input_format=3, version=7, max_plies=40, start_fens=start_fens(3)
    )
    plain = run_chain(paths, in_order({}))
    ref = np.concatenate(
        [np.stack([g["result_q"], g["result_d"]], 1) for g in map(chunks.read_frames, paths)]
    )
    np.testing.assert_array_equal(plain.values[:, 0, :2], ref)
    assert tb_stats(plain) == {}


@pytest.mark.parametrize("fmt", [1, 3])
def test_frames_with_castling_rights_are_never_probed(tmp_path, syzygy_dir, fmt):
    # KRvKR, rule50 == 0: an anchor but for the castling rights (one-frame games)
    with_rights = "r3k3/8/8/8/8/8/8/R3K3 w Qq - 0 1"
    without = "r3k3/8/8/8/8/8/8/R3K3 w - - 0 1"
    a = synth.write_games(tmp_path / "a", 6, seed=1, input_format=fmt, max_plies=1, start_fens=[with_rights])
    b = synth.write_games(tmp_path / "b", 6, seed=1, input_format=fmt, max_plies=1, start_fens=[without])
    settings = {"syzygy_paths": [str(syzygy_dir)]}
    ra, rb = run_chain(a, in_order(settings)), run_chain(b, in_order(settings))
    assert tb_stats(ra)["tb_probes"] == 0 and tb_stats(ra)["tb_games"] == 0
    np.testing.assert_array_equal(ra.values[:, 0], run_chain(a, in_order({})).values[:, 0])
    # the same position without the rights is probed (Rxa8 wins; the one-ply games were
    # adjudicated drawn) and rescored
    with chess.syzygy.open_tablebase(str(syzygy_dir)) as tables:
        assert tables.probe_wdl(chess.Board(without)) == 2
    assert tb_stats(rb)["tb_probes"] == tb_stats(rb)["tb_games"] == 6
    np.testing.assert_array_equal(run_chain(b, in_order({})).values[:, 0, :2], np.tile([0.0, 1.0], (6, 1)))
    np.testing.assert_array_equal(rb.values[:, 0, :2], np.tile([1.0, 0.0], (6, 1)))


def test_corrupt_tables_are_counted_and_never_stall(tmp_path, syzygy_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    rng = np.random.default_rng(0)
    for i, table in enumerate(sorted(syzygy_dir.iterdir())):
        data = table.read_bytes()
        kind = i % 3  # truncated, random bytes, empty
        (bad / table.name).write_bytes(
            data[: len(data) // 3] if kind == 0 else rng.bytes(len(data)) if kind == 1 else b""
        )
    paths = synth.write_games(
        tmp_path / "g", 12, seed=4, input_format=3, version=7, max_plies=40, start_fens=start_fens(4)
    )
    plain = run_chain(paths, in_order({}))
    result = run_chain(paths, in_order({"syzygy_paths": [str(bad)]}), timeout=60)
    assert len(result) == len(plain)
    np.testing.assert_array_equal(result.values, plain.values)
    st = tb_stats(result)
    assert st["tb_games"] == st["tb_frames_changed"] == 0
    assert st["tb_misses"] == st["tb_probes"] > 0
    logged = [p for p in result.problems if "syzygy" in p.lower() and not p.startswith("info: ")]
    assert logged, result.problems


def test_unreadable_directory_is_a_start_error_naming_it(tmp_path, syzygy_dir):
    missing = tmp_path / "no-such-tables"
    with pytest.raises(ValueError, match="no-such-tables"):
        build_chain(in_order({"syzygy_paths": [str(syzygy_dir), str(missing)]}))
    # the native side refuses it too (descriptions made without the Python check)
    members = [
        Member("read", "loader.read", defaults("loader.read")),
        Member("rescore", "loader.rescore", defaults("loader.rescore")),
    ]
    links = [Link("read", "sources", "rescore", "chunks", "chunk_sources", "stream")]
    queues, descs, _, _ = lseg.describe(members, links, lambda k: k == "read.paths", lambda k: False)
    descs[1]["config"]["syzygy_paths"] = f"{syzygy_dir}\n{missing}"
    with pytest.raises(ValueError, match="no-such-tables"):
        _native.loader.Segment(queues, descs)


def test_relative_syzygy_paths_resolve_from_the_pipeline_directory(tmp_path, syzygy_dir):
    (tmp_path / "tables").symlink_to(syzygy_dir)
    assert lseg._syzygy_paths("rescore", ["tables"], tmp_path) == str(tmp_path / "tables")
    assert lseg._syzygy_paths("rescore", [], tmp_path) == ""


def test_directory_without_tables_is_logged_and_changes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    paths = synth.write_games(
        tmp_path / "g", 4, seed=6, input_format=1, version=6, max_plies=30, start_fens=start_fens(6)
    )
    plain = run_chain(paths, in_order({}))
    result = run_chain(paths, in_order({"syzygy_paths": [str(empty)]}))
    np.testing.assert_array_equal(result.values, plain.values)
    assert tb_stats(result)["tb_probes"] == 0
    assert any("no Syzygy WDL tables" in p and str(empty) in p for p in result.problems), result.problems
