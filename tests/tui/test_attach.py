"""The dashboard attached to a run in another thread's runtime through its control socket."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from test_dashboard import _table_rows, _wait_for, screen_text

from lcpipe.daemon.server import SOCKET_NAME, SocketServer
from lcpipe.daemon.session import Controller
from lcpipe.tui.app import COLUMNS, STOP_REASON, Dashboard
from lcpipe.tui.link import RemoteRun

COL = {name: i for i, name in enumerate(COLUMNS)}
BODY = """
    runtime: {metrics_interval: 0.1}
    stages:
      src: {use: toy.count, with: {limit: 0, delay: 0.002}}
      x2: {use: toy.scale, from: src, queue: {capacity: 4}}
      sink: {use: toy.collect, from: x2, with: {path: "%s"}}
    """


@pytest.fixture
def served(tmp_path, make_runtime):
    """A toy pipeline running in a thread of this process, its socket served in tmp_path."""
    runtime = make_runtime(BODY % (tmp_path / "out.json"))
    controller = Controller(can_start=False)
    controller.attach(runtime)
    server = SocketServer(tmp_path / SOCKET_NAME, controller)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", runtime.run(install_signals=False)))
    thread.start()
    yield runtime, tmp_path / SOCKET_NAME, result
    runtime.request_stop("test over")
    thread.join(60)
    server.close()


def _attach(path) -> Dashboard:
    return Dashboard(RemoteRun.attach(path), hold=0.1, refresh_interval=0.05)


def test_attach_shows_the_run_and_q_detaches_leaving_it_going(served):
    runtime, path, result = served

    async def drive(app):
        async with app.run_test(size=(100, 30)) as pilot:
            await _wait_for(
                pilot,
                lambda: (
                    app.last_snapshot is not None
                    and "received=" in _table_rows(app).get("sink", [""] * len(COLUMNS))[COL["metrics"]]
                ),
            )
            rows = _table_rows(app)
            assert set(rows) == {"src", "x2", "sink"} and rows["src"][COL["state"]] == "running"
            text = screen_text(app)
            for word in ("running", "queues (fill)", "sink.numbers", "Overview", "Training", "Networks"):
                assert word in text, word
            await pilot.press("q")
            await _wait_for(pilot, lambda: app.return_value is None and not app.is_running, timeout=5)

    for _ in range(2):  # attach, detach, and again
        app = _attach(path)
        asyncio.run(drive(app))
        assert app.runner.detached
    before = runtime.counts()["src.numbers"]
    deadline = time.monotonic() + 30
    while runtime.counts()["src.numbers"] < before + 100:  # the run went on without anyone watching
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "r" not in result


def test_s_twice_stops_the_run_and_once_does_not(served):
    runtime, path, result = served
    app = _attach(path)

    async def drive():
        async with app.run_test(size=(100, 30)) as pilot:
            await _wait_for(
                pilot, lambda: app.last_snapshot is not None and app.last_snapshot.status == "running"
            )
            await pilot.press("s")
            await pilot.pause(0.3)
            assert not runtime._stop_requested.is_set()  # one press only asks for confirmation
            await pilot.press("s")
            await _wait_for(pilot, lambda: app.runner.done, timeout=30)
            await _wait_for(pilot, lambda: not app.is_running, timeout=10)

    asyncio.run(drive())
    assert app.runner.result is not None and app.runner.result.exit_code == 0
    assert app.runner.result.reason == STOP_REASON


def test_palette_commands_reach_the_run(served):
    runtime, path, _ = served
    app = _attach(path)

    async def drive():
        async with app.run_test(size=(100, 30)) as pilot:
            await _wait_for(pilot, lambda: app.last_snapshot is not None and app.last_snapshot.metric_names)
            app.control("pause", "src")
            await _wait_for(pilot, lambda: runtime.paused() == ["src"])
            app.control("resume", "src")
            await _wait_for(pilot, lambda: runtime.paused() == [])
            app.chart("sink/received")
            assert app.last_snapshot.spark_metric == "sink/received"
            for tab in ("training", "selfplay", "networks", "overview"):
                app.query_one("#tabs").active = tab
                await pilot.pause(0.1)
                assert screen_text(app)  # every pane renders at 100x30
            await pilot.press("q")

    asyncio.run(drive())
