"""`lcpipe data stats` distributions and `lcpipe data startpos` on the real lc0 games."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from lcpipe.cli.main import main as run_cli
from lcpipe.lc0 import chunks, synth

E2E4, D2D4 = 322, 293  # policy indices (LC0_FORMATS.md, section 4)


def test_result_and_length_distributions_match_lc0s_log(selfplay_dir, fixture_games, capsys):
    assert run_cli(["data", "stats", str(selfplay_dir / "selfplay-fmt3.tar")]) == 0
    out = capsys.readouterr().out
    logged = Counter(g["result"] for g in fixture_games.values())
    for name, key in (("white", "whitewon"), ("black", "blackwon"), ("draw", "draw")):
        assert re.search(rf"^  {name:<6} +{logged[key]} ", out, re.M), name
    assert "frames per game: min 20 " in out and " max 231 mean 87.9" in out
    histogram = [int(m) for m in re.findall(r"^ +\d+-\d+ +(\d+)", out, re.M)]
    assert len(histogram) == 10 and sum(histogram) == 80


def test_startpos_is_the_same_in_every_input_format(selfplay_dir, fixture_games, capsys):
    tables = {}
    for fmt in (1, 3, 5):
        assert run_cli(["data", "startpos", str(selfplay_dir / f"selfplay-fmt{fmt}.tar")]) == 0
        tables[fmt] = capsys.readouterr().out.splitlines()
    assert tables[1] == tables[3] == tables[5]
    assert tables[1][0] == "80 games from the start position (0 from other positions)"
    rows = {line.split()[0]: line.split()[1:] for line in tables[1][2:]}
    assert len(rows) == 20  # every legal first move
    first = np.stack(
        [g[0]["probabilities"] for _, g in chunks.iter_games(selfplay_dir / "selfplay-fmt1.tar")]
    )
    first = first / np.where(first >= 0, first, 0).sum(1, keepdims=True)
    assert float(rows["e2e4"][0]) == pytest.approx(first[:, E2E4].mean(), abs=1e-4)
    assert float(rows["d2d4"][0]) == pytest.approx(first[:, D2D4].mean(), abs=1e-4)
    played = Counter(g["moves"][0] for g in fixture_games.values())
    assert float(rows["e2e4"][2].rstrip("%")) == pytest.approx(100 * played["e2e4"] / 80, abs=0.05)


def test_startpos_without_start_positions_fails_clearly(tmp_path, capsys):
    (path,) = synth.write_games(
        tmp_path, 2, seed=1, tar=True, max_plies=6, start_fens=["8/8/8/8/8/8/k7/K6R w - - 0 1"]
    )
    assert run_cli(["data", "startpos", str(path)]) == 1
    captured = capsys.readouterr()
    assert "0 games from the start position (2 from other positions)" in captured.out
    assert "no game starts from the standard start position" in captured.err


def test_stats_reads_a_directory_and_names_a_missing_input(tmp_path, capsys):
    synth.write_games(tmp_path / "d" / "sub", 3, seed=1, max_plies=10)
    assert run_cli(["data", "stats", str(tmp_path / "d")]) == 0
    assert "files: 3  games: 3 " in capsys.readouterr().out
    assert run_cli(["data", "stats", str(tmp_path / "nope")]) == 2
    assert "nope: no such file or directory" in capsys.readouterr().err
