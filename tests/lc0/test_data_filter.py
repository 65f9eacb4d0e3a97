"""`lcpipe data filter`: the games matching every condition, copied unchanged."""

from __future__ import annotations

from lcpipe.cli.main import main as run_cli
from lcpipe.lc0 import chunks, synth


def raw_by_key(path):
    return {key: gz for key, _member, gz in chunks.iter_raw_chunks(path)}


def test_result_filter_keeps_the_games_lc0_logged_as_won(selfplay_dir, fixture_games, tmp_path, capsys):
    src = selfplay_dir / "selfplay-fmt3.tar"  # canonical format: the side to move is in invariance bit 7
    assert run_cli(["data", "filter", str(src), "--out", str(tmp_path), "--result", "white"]) == 0
    expected = sorted(k for k, g in fixture_games.items() if g["result"] == "whitewon")
    kept = raw_by_key(tmp_path / src.name)
    assert sorted(kept) == expected and len(expected) == 41
    original = raw_by_key(src)
    assert all(kept[k] == original[k] for k in kept)  # copied byte for byte
    assert f"41 of 80 games kept (39 by result) -> 1 files in {tmp_path}" in capsys.readouterr().out


def test_length_adjudication_and_predicate(selfplay_dir, tmp_path, capsys):
    src = selfplay_dir / "selfplay-fmt1.tar"
    games = dict(chunks.iter_games(src))
    argv = ["data", "filter", str(src), "--out", str(tmp_path), "--min-plies", "60", "--max-plies", "120"]
    argv += ["--played-out", "--where", "visits.min() >= 64 and (result_d == 0).all()"]
    assert run_cli(argv) == 0
    expected = sorted(
        k
        for k, f in games.items()
        if 60 <= len(f) <= 120 and not f["invariance_info"][-1] & 32 and f["result_d"].max() == 0
    )
    assert 0 < len(expected) < len(games)
    assert sorted(dict(chunks.iter_games(tmp_path / src.name))) == expected


def test_no_match_writes_no_file_and_one_tar_collects_a_directory(selfplay_dir, tmp_path, capsys):
    src = selfplay_dir / "selfplay-fmt5.tar"
    assert run_cli(["data", "filter", str(src), "--out", str(tmp_path / "none"), "--format", "1"]) == 0
    assert "0 of 80 games kept (80 by input format) -> 0 files" in capsys.readouterr().out
    synth.write_games(tmp_path / "gen", 4, seed=2, max_plies=30, version=7)
    argv = ["data", "filter", str(tmp_path / "gen"), "--out", str(tmp_path / "o"), "--tar", "all.tar"]
    assert run_cli([*argv, "--version", "7", "--where", "plies > 0"]) == 0
    assert sorted(raw_by_key(tmp_path / "o" / "all.tar")) == sorted(
        p.name for p in (tmp_path / "gen").glob("*.gz")
    )


def test_bad_predicates_are_clear_errors_and_leave_no_file(tmp_path, capsys):
    synth.write_games(tmp_path / "gen", 2, seed=2, max_plies=10)
    base = ["data", "filter", str(tmp_path / "gen"), "--out", str(tmp_path / "o"), "--tar", "x.tar"]
    assert run_cli([*base, "--where", "visits >"]) == 2
    assert "--where 'visits >': invalid syntax" in capsys.readouterr().err
    assert run_cli([*base, "--where", "visit.min() > 3"]) == 2
    assert "NameError: name 'visit' is not defined" in capsys.readouterr().err
    assert run_cli([*base, "--where", "plies.__class__"]) == 2
    assert "'__class__' is not allowed" in capsys.readouterr().err
    assert run_cli([*base, "--min-plies", "9", "--max-plies", "3"]) == 2
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []
