"""One writer per run directory: the lock `lcpipe run` takes on a run's state directories."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from lcpipe.compiler import compile_file
from lcpipe.runtime.runlock import LOCK_NAME, RunLock, RunLocked, clean_interrupted_writes, state_directories

REPO = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from lcpipe.runtime.runlock import RunLock
lock = RunLock([Path(sys.argv[1])]).acquire()
print("locked", flush=True)
sys.stdin.read()   # hold the lock until the test closes our stdin
"""


def _generate_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(f"""\
        lcpipe: 1
        name: locked
        stages:
          games: {{use: data.generate, with: {{out_dir: "{tmp_path / "run" / "games"}", games: 2, seed: 3}}}}
          batches: {{use: data.batches, from: games, with: {{batch_size: 8}}}}
        """)
    )
    return spec


def _lcpipe_run(spec: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", "run", "-q", str(spec), "--stop-after", "batches=1"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_state_directories_of_rl_pipeline_are_checkpoints_games_and_nets(tmp_path):
    pipeline = compile_file(REPO / "pipelines" / "rl.yaml", [f"vars.run={tmp_path}/r"])
    assert state_directories(pipeline) == sorted(
        (tmp_path / "r" / d).resolve() for d in ("checkpoints", "games", "nets")
    )


def test_second_run_on_same_directory_exits_2_naming_the_holder(tmp_path):
    spec = _generate_spec(tmp_path)
    games = tmp_path / "run" / "games"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(games)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = _lcpipe_run(spec)
        assert result.returncode == 2, result.stderr
        assert f"in use by process {holder.pid}" in result.stderr and str(games) in result.stderr
        assert not list(games.glob("*.gz"))  # nothing ran
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    result = _lcpipe_run(spec)  # the holder is gone: the lock is free again
    assert result.returncode == 0, result.stderr
    assert list(games.glob("*.gz"))


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    spec = _generate_spec(tmp_path)
    games = tmp_path / "run" / "games"
    games.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (games / LOCK_NAME).write_text(dead.stdout)  # a file left by a killed run, no flock held
    result = _lcpipe_run(spec)
    assert result.returncode == 0, result.stderr
    assert list(games.glob("*.gz"))


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    with RunLock([tmp_path]):
        try:
            RunLock([tmp_path]).acquire()
        except RunLocked as exc:
            assert exc.pid == os.getpid()
        else:
            raise AssertionError("a second lock on the same directory was granted")
    RunLock([tmp_path]).acquire().release()  # released: free again


def test_interrupted_writes_are_cleaned_at_start(tmp_path):
    spec = _generate_spec(tmp_path)
    games = tmp_path / "run" / "games"
    games.mkdir(parents=True)
    (games / ".game-1.gz.abc123.tmp").write_bytes(b"half")
    orbax_tmp = games / "400.orbax-checkpoint-tmp-1733220000"
    (orbax_tmp / "state").mkdir(parents=True)
    keep = games / "notes.tmp"  # not a hidden temporary of ours: kept
    keep.write_text("x")
    result = _lcpipe_run(spec)
    assert result.returncode == 0, result.stderr
    assert not (games / ".game-1.gz.abc123.tmp").exists() and not orbax_tmp.exists()
    assert keep.exists()
    assert "left by an interrupted write" in result.stderr


def test_clean_interrupted_writes_leaves_finished_files(tmp_path):
    (tmp_path / "rl-00000200.pb.gz").write_bytes(b"net")
    (tmp_path / "200").mkdir()
    assert clean_interrupted_writes([tmp_path]) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["200", "rl-00000200.pb.gz"]
