"""`lcpipe data rescore`: files rewritten through the native loader.rescore stage."""

from __future__ import annotations

import numpy as np
import pytest

from lcpipe.cli.main import main as run_cli
from lcpipe.lc0 import chunks, synth
from lcpipe.lc0.tablebase_rescore import TablebaseRescorer

MATERIALS = ["KQvKR", "KRvKP", "KPvKP", "KRvKN", "KQvKP"]


def games_by_key(path):
    return dict(chunks.iter_games(path))


def test_untouched_settings_copy_real_data_field_for_field(lc0_fixtures, tmp_path, capsys):
    src = lc0_fixtures / "lc0-selfplay" / "selfplay-fmt3.tar"
    assert run_cli(["data", "rescore", str(src), "--out", str(tmp_path), "--no-short-term"]) == 0
    captured = capsys.readouterr()
    assert "80 games rescored, 0 skipped -> 1 files" in captured.out
    assert "rescore [########################] 80/80 games" in captured.err
    before, after = games_by_key(src), games_by_key(tmp_path / src.name)
    assert sorted(before) == sorted(after)
    for key, frames in before.items():
        assert frames.tobytes() == after[key].tobytes(), key  # every byte, reserved fields included
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]  # no temporary file left


def test_policy_temperature_and_short_term_into_v7(tmp_path, capsys):
    src = tmp_path / "in" / "sub"
    synth.write_games(src, 3, seed=4, max_plies=30)
    out = tmp_path / "out"
    argv = ["data", "rescore", str(tmp_path / "in"), "--out", str(out), "--policy-temperature", "2"]
    assert run_cli([*argv, "--record-version", "7", "--threads", "2"]) == 0
    for path in sorted(src.glob("*.gz")):
        before = chunks.read_frames(path)
        after = chunks.read_frames(out / "sub" / path.name)  # the directory's layout is kept
        assert after.dtype.names[-1] == "reserved" and len(after["reserved"][0]) == 8  # V7 records
        p = before["probabilities"]
        legal = p >= 0
        expected = np.where(legal, np.sqrt(np.where(legal, p, 0)), -1)
        expected[legal] /= np.repeat(expected.sum(1, where=legal), legal.sum(1))
        np.testing.assert_allclose(after["probabilities"], expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(after["result_q"], before["result_q"])
        # short-term value filled (V6 input has none); our next move is the move played two plies on
        assert np.isfinite(after["q_st"]).all()
        np.testing.assert_array_equal(after["next_played_idx"][:-2], before["played_idx"][2:])


def test_tablebase_rescoring_equals_the_python_reference(tmp_path, syzygy_dir, capsys):
    rng = np.random.default_rng(7)
    fens = [synth.random_endgame(rng, m) for m in MATERIALS]
    (path,) = synth.write_games(
        tmp_path / "in", 10, seed=9, tar=True, tar_name="end.tar", max_plies=40, start_fens=fens
    )
    argv = ["data", "rescore", str(path), "--out", str(tmp_path / "out"), "--syzygy-paths", str(syzygy_dir)]
    assert run_cli(argv) == 0
    assert "tablebases:" in capsys.readouterr().out
    after = games_by_key(tmp_path / "out" / "end.tar")
    changed = 0
    with TablebaseRescorer([syzygy_dir]) as tb:
        for key, frames in games_by_key(path).items():
            expected = tb.rescore(frames)
            np.testing.assert_array_equal(after[key]["result_q"], expected["result_q"])
            np.testing.assert_array_equal(after[key]["result_d"], expected["result_d"])
            changed += int((expected["result_q"] != frames["result_q"]).sum())
    assert changed > 0  # the test data gives the tables something to change


def test_settings_come_from_a_spec_and_options_override_them(tmp_path, capsys):
    synth.write_games(tmp_path / "in", 1, seed=1, max_plies=12)
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "lcpipe: 1\nname: p\nstages:\n"
        "  files: {use: loader.watch, with: {dir: in}}\n"
        "  read: {use: loader.read, from: files}\n"
        "  extract: {use: loader.extract, from: read}\n"
        "  fix: {use: loader.rescore, from: extract, with: {policy_temperature: 4.0, short_term: false}}\n"
        "  frames: {use: loader.unpack, from: fix}\n"
        "  batches: {use: loader.batch, from: frames}\n"
    )
    key = "game_000001_000000.gz"
    before = chunks.read_frames(tmp_path / "in" / key)
    for extra, temperature in (([], 4.0), (["--policy-temperature", "0.5"], 0.5)):
        out = tmp_path / f"out{temperature}"
        assert (
            run_cli(["data", "rescore", str(tmp_path / "in"), "--out", str(out), "--spec", str(spec), *extra])
            == 0
        )
        p = before["probabilities"][0]
        q = np.where(p >= 0, np.where(p >= 0, p, 0) ** (1 / temperature), -1)
        q[p >= 0] /= q[p >= 0].sum()
        np.testing.assert_allclose(chunks.read_frames(out / key)["probabilities"][0], q, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--policy-temperature", "0"], "policy_temperature"),
        (["--stage", "x"], "--stage names a stage of --spec"),
        (["--syzygy-paths", "/no/such/dir"], "cannot read directory /no/such/dir"),
    ],
)
def test_bad_settings_are_refused_before_any_work(tmp_path, capsys, extra, message):
    synth.write_games(tmp_path / "in", 1, seed=1, max_plies=6)
    assert run_cli(["data", "rescore", str(tmp_path / "in"), "--out", str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_inputs_are_refused(tmp_path, capsys):
    synth.write_games(tmp_path, 1, seed=1, max_plies=6)
    assert run_cli(["data", "rescore", str(tmp_path / "missing.tar"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.tar: no such file or directory" in capsys.readouterr().err
    assert run_cli(["data", "rescore", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "would overwrite its input" in capsys.readouterr().err


def test_gzip_level_changes_only_the_compression(tmp_path):
    synth.write_games(tmp_path / "in", 2, seed=5, max_plies=40, tar=True, tar_name="g.tar")
    sizes = {}
    for level in ("1", "9"):
        out = tmp_path / level
        argv = ["data", "rescore", str(tmp_path / "in"), "--out", str(out), "--no-short-term"]
        assert run_cli([*argv, "--gzip-level", level]) == 0
        sizes[level] = sum(len(gz) for _, _, gz in chunks.iter_raw_chunks(out / "g.tar"))
        after = {k: f.tobytes() for k, f in games_by_key(out / "g.tar").items()}
        assert after == {k: f.tobytes() for k, f in games_by_key(tmp_path / "in" / "g.tar").items()}
    assert sizes["1"] > sizes["9"]
