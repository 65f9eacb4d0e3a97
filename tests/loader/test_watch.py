"""loader.watch: inotify events with the polling fallback; files are reported
once complete, deleted files are forgotten."""

from __future__ import annotations

import os
import sys
import time

import pytest
from loader_testlib import build_chain

from lcpipe.lc0 import synth

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")


def chain(d, **watch):
    stages = [
        ("loader.watch", {"dir": str(d), **watch}),
        ("loader.read", {}),
        ("loader.extract", {"shuffle": False}),
        ("loader.unpack", {"threads": 1}),
        ("loader.batch", {"batch_size": 1, "queue": {"capacity": 100000, "overflow": "block"}}),
    ]
    seg, _, _ = build_chain(stages, with_input=False)
    seg.start()
    return seg


def wait_for(seg, key, value, timeout=10.0):
    deadline = time.monotonic() + timeout
    while seg.stats().get(key) != value and time.monotonic() < deadline:
        time.sleep(0.02)
    return seg.stats().get(key)


def game_bytes(tmp_path, seed):
    (p,) = synth.write_games(tmp_path / f"src{seed}", 1, seed=seed, max_plies=6)
    return p.read_bytes()


def test_inotify_reports_files_once_complete(tmp_path):
    d = tmp_path / "w"
    synth.write_games(d, 2, seed=1, max_plies=4)
    # settle_seconds is short on purpose: with inotify a file is taken on
    # close (or rename), however long its writer pauses.
    seg = chain(d, mode="inotify", poll_seconds=0.1, settle_seconds=0.2, rescan_seconds=600)
    try:
        assert wait_for(seg, "s0_watch/out", 2) == 2
        assert seg.stats()["s0_watch/inotify"] == 1
        data = game_bytes(tmp_path, 5)
        with open(d / "game_partial.gz", "wb") as f:  # written in place, not atomically
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(1.0)
            assert seg.stats()["s0_watch/out"] == 2  # still open: not reported
            f.write(data[len(data) // 2 :])
        assert wait_for(seg, "s0_watch/out", 3) == 3
        synth.write_games(d / "sub", 1, seed=3, max_plies=4)  # a new directory, atomic writes inside
        assert wait_for(seg, "s0_watch/out", 4) == 4
        (d / ".tmp.gz").write_bytes(data)  # dotfile: a writer's temporary file
        os.replace(d / ".tmp.gz", d / "game_renamed.gz")  # renamed into place: complete
        assert wait_for(seg, "s0_watch/out", 5) == 5
        os.unlink(d / "game_partial.gz")  # gone, then written again: a new file
        assert wait_for(seg, "s0_watch/known", 4) == 4
        (d / "game_partial.gz").write_bytes(data)
        assert wait_for(seg, "s0_watch/out", 6) == 6
        time.sleep(0.3)
        st = seg.stats()
        assert st["s0_watch/out"] == 6 and st["s0_watch/bad"] == 0
        assert st["s3_unpack/bad"] == 0  # no half-written file was read
    finally:
        seg.stop()


def test_falls_back_to_polling_when_watches_run_out(tmp_path):
    d = tmp_path / "w"
    synth.write_games(d / "a", 1, seed=1, max_plies=4)
    synth.write_games(d / "b", 1, seed=2, max_plies=4)
    seg = chain(d, mode="inotify", max_watches=2, poll_seconds=0.1, settle_seconds=0.2)
    try:
        assert wait_for(seg, "s0_watch/out", 2) == 2
        assert seg.stats()["s0_watch/inotify"] == 0
        assert any("polling" in p for p in seg.problems())
        synth.write_games(d / "b", 1, seed=7, max_plies=4)
        assert wait_for(seg, "s0_watch/out", 3) == 3
    finally:
        seg.stop()


def test_polling_mode_forgets_deleted_files(tmp_path):
    d = tmp_path / "w"
    paths = synth.write_games(d, 3, seed=4, max_plies=4)
    seg = chain(d, mode="poll", poll_seconds=0.1, settle_seconds=0.2)
    try:
        assert wait_for(seg, "s0_watch/out", 3) == 3
        assert seg.stats()["s0_watch/inotify"] == 0
        for p in paths[:2]:
            os.unlink(p)
        assert wait_for(seg, "s0_watch/known", 1) == 1
        time.sleep(0.3)
        assert seg.stats()["s0_watch/out"] == 3
    finally:
        seg.stop()


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_a_directory_that_does_not_exist_yet_is_a_quiet_wait(tmp_path, mode):
    """Self-play creates its games directory after the loader starts: no warning, a gauge, then the files."""
    d = tmp_path / "later" / "games"
    seg = chain(d, mode=mode, poll_seconds=0.1, settle_seconds=0.2)
    try:
        assert wait_for(seg, "s0_watch/waiting_for_dir", 1.0) == 1.0
        synth.write_games(d, 2, seed=1, max_plies=4)
        assert wait_for(seg, "s0_watch/out", 2) == 2
        assert seg.stats()["s0_watch/waiting_for_dir"] == 0
        if mode == "inotify":  # the watches were set up once the directory appeared
            assert seg.stats()["s0_watch/inotify"] == 1
        synth.write_games(d, 1, seed=2, max_plies=4)
        assert wait_for(seg, "s0_watch/out", 3) == 3
        assert seg.problems() == [] and seg.stats()["s0_watch/bad"] == 0
    finally:
        seg.stop()


def test_a_directory_that_cannot_be_read_still_warns_once(tmp_path):
    """Any other failure (here: the path is a file, which root cannot list either) is a problem,
    reported once however many scans fail."""
    d = tmp_path / "not-a-dir"
    d.write_bytes(b"")
    seg = chain(d, mode="poll", poll_seconds=0.05, settle_seconds=0.1)
    try:
        deadline = time.monotonic() + 30
        while seg.stats().get("s0_watch/bad", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # several scans, each failing
        assert seg.stats()["s0_watch/bad"] >= 3
        problems = [p for p in seg.problems() if "cannot read directory" in p]
        assert len(problems) == 1 and "Not a directory" in problems[0]
        assert seg.stats()["s0_watch/waiting_for_dir"] == 0
    finally:
        seg.stop()
