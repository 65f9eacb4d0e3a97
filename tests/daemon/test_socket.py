"""A running pipeline serves the protocol on a Unix socket: owner-only, many clients, detaching leaves it alone."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest
import toy_stages
from daemon_testlib import check_message, toy_spec

from lcpipe.compiler import compile_file, plan_pipeline
from lcpipe.daemon.cli import format_status, request
from lcpipe.daemon.server import SOCKET_NAME, SocketServer, connect, read_lines
from lcpipe.daemon.session import Controller
from lcpipe.registry import load_registry
from lcpipe.runtime.runner import Runtime


@pytest.fixture
def served_run(tmp_path):
    """A toy pipeline running in this process with its socket served in tmp_path."""
    plan = plan_pipeline(
        compile_file(toy_spec(tmp_path, limit=0, delay=0.002), registry=load_registry(extra=(toy_stages,)))
    )
    runtime = Runtime(plan, grace=10)
    controller = Controller(can_start=False)
    controller.attach(runtime)
    server = SocketServer(tmp_path / SOCKET_NAME, controller)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", runtime.run(install_signals=False)))
    thread.start()
    yield runtime, tmp_path / SOCKET_NAME
    runtime.request_stop("test over")
    thread.join(60)
    server.close()
    assert result["r"].exit_code == 0, result["r"].failures


def _messages(sock):
    for line in read_lines(sock.recv):
        if isinstance(line, bytes):
            msg = json.loads(line)
            check_message(msg)
            yield msg


def test_socket_is_owner_only(served_run):
    _, path = served_run
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert stat.S_ISSOCK(os.stat(path).st_mode) and mode == 0o600


def test_two_clients_attach_and_detach_and_the_run_goes_on(served_run):
    runtime, path = served_run
    a, b = connect(path), connect(path)
    ma, mb = _messages(a), _messages(b)
    assert next(ma)["type"] == "hello" and next(mb)["pipeline"] == "toy"
    for sock in (a, b):
        sock.sendall(b'{"type":"status","id":1}\n')
    sa = next(m for m in ma if m["type"] == "status")
    next(m for m in mb if m["type"] == "status")
    a.close()  # detach one client abruptly, mid-stream
    before = sa["counts"].get("src.numbers", 0)  # on a loaded machine the source may not have counted yet
    got = next(
        m
        for m in mb
        if m["type"] == "metrics" and m["stage"] == "sink" and m["values"]["received"] > before + 100
    )
    assert got
    b.close()
    later = request(path, {"type": "status"}, ("status",))
    assert later["state"] == "running" and later["counts"]["src.numbers"] > before + 100
    assert not runtime._stop_requested.is_set()


def test_status_command_summarises_the_run(served_run):
    _, path = served_run
    deadline = time.monotonic() + 60
    while "src" not in (msg := request(path.parent, {"type": "status"}, ("status",)))["stages"]:
        assert time.monotonic() < deadline, msg  # the stages report their first state once they start
        time.sleep(0.05)
    text = format_status(msg)
    assert text.startswith("pipeline 'toy': running") and "src" in text


def test_a_watched_run_cannot_start_another(served_run, tmp_path):
    _, path = served_run
    answer = request(path, {"type": "start", "spec": str(tmp_path / "spec.yaml")}, ("ack",))
    assert answer["type"] == "error" and answer["code"] == "state"


def test_a_live_socket_is_not_taken_over(served_run):
    _, path = served_run
    with pytest.raises(FileExistsError, match="another lcpipe process"):
        SocketServer(path, Controller(can_start=False))
