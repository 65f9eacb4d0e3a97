"""The dashboard drives and shows a real running pipeline of toy stages."""

from __future__ import annotations

import asyncio
import fcntl
import html
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Sparkline

from lcpipe.tui.app import COLUMNS, STOP_REASON, Dashboard
from lcpipe.tui.widgets import QueueBar

CORE = Path(__file__).resolve().parents[1] / "core"
COLUMNS_INDEX = {name: i for i, name in enumerate(COLUMNS)}

ENDLESS = """
    runtime: {metrics_interval: 0.1}
    stages:
      src: {use: toy.count, with: {limit: 0, delay: 0.002}}
      x2: {use: toy.scale, from: src, queue: {capacity: 4}}
      sink: {use: toy.collect, from: x2, with: {path: "%s"}}
    """


async def _wait_for(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def screen_text(app) -> str:
    """The rendered screen as plain text lines, from Textual's SVG export."""
    svg = app.export_screenshot()
    lines: dict[int, list[str]] = {}
    for line, text in re.findall(
        r'<text [^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>([^<]*)</text>', svg
    ):
        lines.setdefault(int(line), []).append(html.unescape(text).replace("\xa0", " "))
    return "\n".join("".join(lines[i]) for i in sorted(lines))


def _table_rows(app) -> dict[str, list[str]]:
    table = app.query_one("#stages", DataTable)
    rows = {}
    for key in table.rows:
        rows[key.value] = [str(cell) for cell in table.get_row(key)]
    return rows


def test_q_stops_a_running_pipeline_cleanly(tmp_path, make_runtime):
    out = tmp_path / "out.json"
    runtime = make_runtime(ENDLESS % out)
    app = Dashboard(runtime, hold=0.1, refresh_interval=0.05)

    async def drive():
        async with app.run_test(size=(140, 40)) as pilot:
            await _wait_for(
                pilot,
                lambda: (
                    app.last_snapshot is not None
                    and all(r.state == "running" for r in app.last_snapshot.stages)
                    and any(r.metrics for r in app.last_snapshot.stages)
                ),
            )
            await _wait_for(pilot, lambda: "/s in" in _table_rows(app)["sink"][COLUMNS_INDEX["rate"]])
            rows = _table_rows(app)
            assert set(rows) == {"src", "x2", "sink"}
            src = rows["src"]
            assert src[COLUMNS_INDEX["type"]] == "toy.count" and src[COLUMNS_INDEX["state"]] == "running"
            assert "received=" in rows["sink"][COLUMNS_INDEX["metrics"]]
            bars = {bar.queue: bar for bar in app.query(QueueBar)}
            assert set(bars) == {"x2.numbers", "sink.numbers"}
            assert 0.0 <= bars["x2.numbers"].fill <= 1.0
            assert app.query_one("#spark", Sparkline).data  # received count of the sink
            text = screen_text(app)
            assert "pipeline 'tuitest' · running" in text
            for word in (
                "stages",
                "queues (fill)",
                "x2.numbers",
                "sink.numbers",
                "log",
                "metric: sink/received",
            ):
                assert word in text, word
            await pilot.press("q")
            await _wait_for(pilot, lambda: app.runner.done)
            await pilot.pause(0.1)
            text = screen_text(app)
            assert "finished · exit 0 · stopped from the dashboard" in text
            await _wait_for(pilot, lambda: app.return_value is not None)  # closes by itself after `hold`
        return app.return_value

    result = asyncio.run(drive())
    assert result is not None, "the app did not return the pipeline's result"
    assert result.exit_code == 0 and result.reason == STOP_REASON and not result.failures
    seen = json.loads(out.read_text())["seen"]
    assert seen == [2 * i for i in range(len(seen))] and len(seen) > 10  # drained, in order


def test_app_closes_by_itself_when_the_pipeline_finishes(tmp_path, make_runtime):
    out = tmp_path / "out.json"
    runtime = make_runtime(f"""
        stages:
          src: {{use: toy.count, with: {{limit: 50}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """)
    app = Dashboard(runtime, hold=0.2, refresh_interval=0.05)

    async def drive():
        async with app.run_test(size=(120, 30)) as pilot:
            await _wait_for(pilot, lambda: app.return_value is not None)  # nobody pressed a key
        return app.return_value

    result = asyncio.run(drive())
    assert result.exit_code == 0 and result.reason == "finished"
    snap = app.last_snapshot
    assert snap.status == "finished" and {r.name: r.state for r in snap.stages} == {
        "src": "finished",
        "sink": "finished",
    }
    assert snap.stages[1].step == 50 and snap.spark_metric == "sink/received" and snap.spark[-1] == 50.0


def test_a_failing_stage_shows_in_table_status_and_log(tmp_path, make_runtime):
    out = tmp_path / "out.json"
    runtime = make_runtime(f"""
        stages:
          src: {{use: toy.count, with: {{limit: 0, delay: 0.001, fail_at: 30}}}}
          sink: {{use: toy.collect, from: src, with: {{path: "{out}"}}}}
        """)
    app = Dashboard(runtime, hold=5.0, refresh_interval=0.05)

    async def drive():
        async with app.run_test(size=(140, 30)) as pilot:
            await _wait_for(pilot, lambda: app.runner.done and app.phase == "finished")
            await pilot.pause(0.1)
            assert _table_rows(app)["src"][COLUMNS_INDEX["state"]] == "failed"
            assert app.query_one("#status").has_class("failed")
            text = screen_text(app)
            assert "exit 1" in text and "[src] failed: asked to fail at 30" in text
            await pilot.press("q")  # after the end, q closes at once instead of waiting for `hold`
            await _wait_for(pilot, lambda: app.return_value is not None, timeout=2.0)
        return app.return_value

    result = asyncio.run(drive())
    assert result.exit_code == 1 and result.failures == [("src", "asked to fail at 30")]


# -- the real command, in a terminal and without one ---------------------------------------
FINITE = """
    runtime: {metrics_interval: 0.1}
    stages:
      src: {use: toy.count, with: {limit: 200, delay: 0.002}}
      sink: {use: toy.collect, from: src, with: {path: "%s"}}
    """


def _cli(tmp_path, body: str):
    spec = tmp_path / "spec.yaml"
    spec.write_text("lcpipe: 1\nname: clitest\n" + textwrap.dedent(body))
    env = dict(
        os.environ,
        LCPIPE_EXTRA_PLUGINS="toy_stages",
        TERM="xterm-256color",
        PYTHONPATH=os.pathsep.join([str(CORE), os.environ.get("PYTHONPATH", "")]),
    )
    return [sys.executable, "-m", "lcpipe.cli.main", "run", "--tui", str(spec)], env


def _in_terminal(
    args, env, keys: bytes = b"", sig: int | None = None, timeout: float = 300.0, cwd=None
) -> tuple[int, str]:
    """Run under a pseudo-terminal (nobody typing unless `keys`): exit code and all output.
    ``timeout`` only catches a hang: a loaded CI machine can take minutes to start a run."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(args, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True, cwd=cwd)
    os.close(slave)
    chunks, deadline, next_key = [], time.monotonic() + timeout, None
    try:
        while True:
            assert time.monotonic() < deadline, "the dashboard did not end on its own"
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last writer has gone
                    break
                if not data:
                    break
                chunks.append(data)
                if next_key is None and b"\x1b[?1049h" in b"".join(chunks):
                    next_key = time.monotonic() + 1.0  # the dashboard is up (and handles signals)
            if (keys or sig) and next_key and time.monotonic() > next_key and proc.poll() is None:
                if keys:
                    os.write(master, keys)  # repeated: a second q while stopping only notifies
                else:
                    proc.send_signal(sig)
                    sig = None  # once: a second one after the run would meet the default handler
                next_key = time.monotonic() + 1.0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.wait(10), b"".join(chunks).decode(errors="replace")


def test_lcpipe_run_tui_ends_by_itself_in_a_terminal(tmp_path):
    out = tmp_path / "out.json"
    code, output = _in_terminal(*_cli(tmp_path, FINITE % out), cwd=tmp_path)
    assert code == 0, output[-2000:]
    assert "\x1b[?1049h" in output  # the dashboard took the alternate screen
    tail = output[output.rindex("\x1b[?1049l") :]  # what is left on the terminal after it closed
    assert "pipeline 'clitest', final state of its stages:" in tail
    assert re.search(r"sink\s+finished\s+step 200", tail)
    assert "stopped after" in tail and "finished" in tail
    assert len(json.loads(out.read_text())["seen"]) == 200
    assert (tmp_path / "lcpipe-daemon.log").exists()  # the run lived in a daemon subprocess


@pytest.mark.parametrize("key", [b"q", b"\x03"], ids=["q", "ctrl-c"])
def test_quitting_the_dashboard_detaches_and_the_run_goes_on(tmp_path, key):
    from lcpipe.daemon.cli import request
    from lcpipe.daemon.server import SOCKET_NAME

    out = tmp_path / "out.json"
    code, output = _in_terminal(*_cli(tmp_path, ENDLESS % out), keys=key, cwd=tmp_path)
    assert code == 0, output[-2000:]
    assert "detached: the run goes on" in output[output.rindex("\x1b[?1049l") :]
    sock = tmp_path / SOCKET_NAME
    first = request(sock, {"type": "status"}, ("status",))
    assert first["state"] == "running"
    deadline = time.monotonic() + 300  # hang guards, as in _in_terminal
    while (
        request(sock, {"type": "status"}, ("status",))["counts"]["src.numbers"]
        <= first["counts"]["src.numbers"]
    ):
        assert time.monotonic() < deadline, "the detached run made no progress"
        time.sleep(0.1)
    assert request(sock, {"type": "stop"}, ("ack",))["type"] == "ack"
    deadline = time.monotonic() + 300
    while sock.exists():  # the daemon's run ends and removes its socket
        assert time.monotonic() < deadline, "the detached run did not stop"
        time.sleep(0.1)
    seen = json.loads(out.read_text())["seen"]
    assert seen == [2 * i for i in range(len(seen))] and seen


def test_s_twice_in_a_terminal_stops_lcpipe_run_tui(tmp_path):
    out = tmp_path / "out.json"
    code, output = _in_terminal(*_cli(tmp_path, ENDLESS % out), keys=b"s", cwd=tmp_path)
    assert code == 0, output[-2000:]
    assert "stopped from the dashboard" in output[output.rindex("\x1b[?1049l") :]
    seen = json.loads(out.read_text())["seen"]
    assert seen == [2 * i for i in range(len(seen))] and seen


def test_sigterm_stops_the_dashboard_run_with_143(tmp_path):
    out = tmp_path / "out.json"
    code, output = _in_terminal(*_cli(tmp_path, ENDLESS % out), sig=signal.SIGTERM, cwd=tmp_path)
    assert code == 143, output[-2000:]
    assert "received SIGTERM" in output[output.rindex("\x1b[?1049l") :]
    assert json.loads(out.read_text())["seen"]  # the stages finished their work and wrote it


def test_without_a_terminal_the_run_goes_on_without_dashboard(tmp_path):
    out = tmp_path / "out.json"
    args, env = _cli(tmp_path, FINITE % out)
    proc = subprocess.run(
        args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "--tui needs a terminal on stderr; running without the dashboard" in proc.stderr
    assert "\x1b[" not in proc.stderr + proc.stdout  # no escape codes in CI logs
    assert "stopped after" in proc.stderr
    assert len(json.loads(out.read_text())["seen"]) == 200
