"""`lcpipe data generate` streams games to disk as it makes them and shows progress."""

from __future__ import annotations

from lcpipe.cli.main import main as run_cli
from lcpipe.lc0 import chunks, synth
from lcpipe.lc0.game_writer import TarStream


def test_each_game_is_on_disk_before_the_next_is_made(tmp_path):
    on_disk = []

    def seen(name, arr):
        on_disk.append(sorted(p.name for p in tmp_path.glob("*.gz")))

    synth.write_games(tmp_path, 4, seed=3, max_plies=12, on_game=seen)
    assert [len(names) for names in on_disk] == [1, 2, 3, 4]
    assert on_disk[1] == ["game_000003_000000.gz", "game_000003_000001.gz"]


def test_a_tar_is_streamed_and_appears_whole_at_the_end(tmp_path):
    partial_sizes = []

    def seen(name, arr):
        assert not (tmp_path / "games.tar").exists()  # never a partial tar under its name
        partial_sizes.append(sum(p.stat().st_size for p in tmp_path.glob(".games.tar.*.tmp")))

    paths = synth.write_games(tmp_path, 3, seed=1, tar=True, tar_name="games.tar", max_plies=10, on_game=seen)
    assert paths == [tmp_path / "games.tar"]
    assert 0 < partial_sizes[0] < partial_sizes[1] < partial_sizes[2]  # written as it goes
    assert [k for k, _ in chunks.iter_games(paths[0])] == [k for k, _ in synth.iter_games(3, 1, max_plies=10)]
    assert list(tmp_path.glob("*.tmp")) == []


def test_an_interrupted_tar_leaves_nothing(tmp_path):
    try:
        with TarStream(tmp_path / "x.tar") as tar:
            tar.add("a.gz", chunks.gzip_frames(synth.generate_games(1, max_plies=4)[0][1]))
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []


def test_cli_prints_progress_and_a_summary(tmp_path, capsys):
    assert run_cli(["data", "generate", "--games", "3", "--out", str(tmp_path), "--max-plies", "8"]) == 0
    captured = capsys.readouterr()
    assert "generate [########################] 3/3 games" in captured.err
    assert captured.out.startswith("3 games, ") and len(list(tmp_path.glob("*.gz"))) == 3


def test_cli_refuses_bad_counts(tmp_path, capsys):
    assert run_cli(["data", "generate", "--games", "-1", "--out", str(tmp_path)]) == 2
    assert run_cli(["data", "generate", "--games", "1", "--max-plies", "0", "--out", str(tmp_path)]) == 2
    assert "--max-plies must be >= 1" in capsys.readouterr().err
