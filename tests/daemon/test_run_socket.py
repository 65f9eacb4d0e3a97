"""`lcpipe run` serves its control socket in the run directory: status and attach reach it, detaching leaves it."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

from daemon_testlib import CORE, toy_spec

from lcpipe.daemon.cli import request
from lcpipe.daemon.server import SOCKET_NAME
from lcpipe.tui.link import RemoteRun


def _wait(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_lcpipe_run_serves_status_and_attach_and_cleans_up(tmp_path):
    spec = toy_spec(tmp_path, limit=0, delay=0.002)
    env = dict(os.environ, PYTHONPATH=str(CORE), LCPIPE_EXTRA_PLUGINS="toy_stages")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lcpipe.cli.main", "run", str(spec)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sock = tmp_path / SOCKET_NAME
    try:
        _wait(sock.exists)
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        status = subprocess.run(
            [sys.executable, "-m", "lcpipe.cli.main", "status", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith("pipeline 'toy': running")
        for _ in range(2):  # attach, look, detach: the run is not disturbed
            seen = []
            run = RemoteRun.attach(sock, seen.append)
            _wait(lambda seen=seen: any(m["type"] == "metrics" for m in seen))
            run.detach()
        first = request(sock, {"type": "status"}, ("status",))["counts"]["src.numbers"]
        _wait(lambda: request(sock, {"type": "status"}, ("status",))["counts"]["src.numbers"] > first + 100)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not sock.exists()  # removed at the end of the run
