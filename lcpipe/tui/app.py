"""The live dashboard: `lcpipe run --tui`.

The pipeline runs in a worker thread (``PipelineThread``); the app owns the
main thread and the terminal. Bus events land in a thread-safe
``PipelineModel``; a timer copies its snapshot into the widgets a few times a
second, and the end of the run arrives through ``call_from_thread``. When the
pipeline ends by itself the app shows the final status for ``hold`` seconds
and closes, so a run without anyone at the keyboard (CI) never hangs.
"""

from __future__ import annotations

import sys
import time

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, RichLog, Sparkline, Static

from lcpipe.runtime.runner import RunResult, Runtime
from lcpipe.tui.control import PipelineThread
from lcpipe.tui.model import KEY_COLUMNS, LogLine, PipelineModel, Snapshot, _short, summary_lines
from lcpipe.tui.widgets import QueueBar

STOP_REASON = "stopped from the dashboard"
COLUMNS = ("stage", "type", "state", "rate", "step", *KEY_COLUMNS, "metrics", "updated")
STATE_STYLES = {"pending": "dim", "starting": "cyan", "running": "green", "finished": "blue",
                "failed": "bold red"}
LOG_STYLES = {"warning": "yellow", "error": "bold red", "state": "cyan", "pipeline": "bold", "info": ""}


def _ago(t: float | None, now: float) -> str:
    if t is None:
        return ""
    return f"{max(0.0, now - t):.0f}s ago"


def _others(metrics: dict[str, float], limit: int = 3) -> str:
    items = sorted(metrics.items())[:limit]
    text = " ".join(f"{k}={_short(v)}" for k, v in items)
    return text + (" …" if len(metrics) > limit else "")


class Dashboard(App[RunResult]):
    """Stages, queue fill, a metric sparkline and the log of one running pipeline."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "lcpipe"
    BINDINGS = [
        Binding("q", "stop", "Stop & quit"),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
        Binding("ctrl+q", "stop", "Stop", show=False, priority=True),
        Binding("m", "next_metric", "Next metric"),
    ]

    status_text: reactive[str] = reactive("")
    phase: reactive[str] = reactive("starting")
    spark_metric: reactive[str] = reactive("")

    def __init__(self, runtime: Runtime, *, hold: float = 1.5, metric: str | None = None,
                 refresh_interval: float = 0.25):
        super().__init__()
        self.runtime = runtime
        self.runner = PipelineThread(runtime)
        self.model = PipelineModel(runtime.plan, metric)
        self.hold = hold
        self.refresh_interval = refresh_interval
        self._log_seq = 0
        self._bars: dict[str, QueueBar] = {}
        self._rows: set[str] = set()
        self.last_snapshot: Snapshot | None = None

    # -- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield DataTable(id="stages", cursor_type="none", zebra_stripes=True)
        with Horizontal(id="bottom"):
            with Vertical(id="left"):
                yield VerticalScroll(id="queues")
                with Vertical(id="spark-box"):
                    yield Sparkline([], id="spark")
                    yield Static(id="spark-value")
            yield RichLog(id="log", wrap=True, max_lines=2000, min_width=20)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"lcpipe · {self.model.pipeline}"
        table = self.query_one("#stages", DataTable)
        table.border_title = "stages"
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.query_one("#queues").border_title = "queues (fill)"
        self.query_one("#log").border_title = "log"
        self.query_one("#spark-box").border_title = "metric"
        if self.model.subscription is None:
            self.model.attach(self.runtime.bus)
        self.runner.on_done(self._done_from_thread)
        self.runner.start()
        self.set_interval(self.refresh_interval, self.refresh_view)
        self.refresh_view()

    # -- updates -----------------------------------------------------------------------
    def _done_from_thread(self, result: RunResult | None) -> None:
        try:
            self.call_from_thread(self._pipeline_done)
        except RuntimeError:  # the app has already closed
            pass

    def _pipeline_done(self) -> None:
        self.refresh_view()
        self.phase = "finished"
        if self.runner.error is not None:
            self.exit(None)
        else:
            self.set_timer(max(0.0, self.hold), lambda: self.exit(self.runner.result))

    def refresh_view(self) -> None:
        snap = self.model.snapshot(self._log_seq)
        self.last_snapshot = snap
        self._update_table(snap)
        self._update_queues(snap)
        self._update_log(snap.logs)
        self._update_spark(snap)
        self.phase = self._phase(snap.status)
        self.status_text = self._status(snap)

    def _phase(self, status: str) -> str:
        # "finished" waits for the runner's result, so the colour matches the exit code;
        # a stop asked here shows at once, before the runtime's event comes back.
        if self.runner.done:
            return "finished"
        if status == "finished" or (status in ("starting", "running") and self.phase == "stopping"):
            return "stopping"
        return status

    def _status(self, snap: Snapshot) -> str:
        counts: dict[str, int] = {}
        for row in snap.stages:
            counts[row.state] = counts.get(row.state, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        minutes, seconds = divmod(int(snap.elapsed), 60)
        text = f"pipeline {snap.pipeline!r} · {snap.status} · {minutes:02d}:{seconds:02d} · {states}"
        if snap.status == "finished":
            text += f" · exit {snap.exit_code} · {snap.reason}"
        elif snap.status == "stopping":
            text += f" · {snap.reason}"
        if snap.lost_events:
            text += f" · {snap.lost_events} events not shown"
        return text

    def watch_status_text(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def watch_phase(self, phase: str) -> None:
        status = self.query_one("#status", Static)
        failed = self.model.exit_code not in (None, 0)
        status.set_class(phase == "finished" and not failed, "finished")
        status.set_class(phase == "finished" and failed, "failed")
        status.set_class(phase == "stopping", "stopping")

    def _update_table(self, snap: Snapshot) -> None:
        table = self.query_one("#stages", DataTable)
        now = time.time()
        for row in snap.stages:
            cells = {
                "stage": row.name,
                "type": row.kind,
                "state": Text(row.state, style=STATE_STYLES.get(row.state, "")),
                "rate": row.rate,
                "step": "" if row.step is None else str(row.step),
                **{c: _short(row.key_metric(c)) if row.key_metric(c) is not None else "" for c in KEY_COLUMNS},
                "metrics": _others(row.other_metrics()),
                "updated": _ago(row.updated, now),
            }
            if row.name not in self._rows:
                table.add_row(*(cells[c] for c in COLUMNS), key=row.name)
                self._rows.add(row.name)
            else:
                for column, value in cells.items():
                    table.update_cell(row.name, column, value, update_width=column != "updated")

    def _update_queues(self, snap: Snapshot) -> None:
        box = self.query_one("#queues", VerticalScroll)
        for queue in snap.queues:
            bar = self._bars.get(queue.name)
            if bar is None:
                bar = QueueBar(queue.name, queue.kind)
                self._bars[queue.name] = bar
                box.mount(bar)
            bar.fill = queue.fill
            bar.dropped = queue.dropped

    def _update_log(self, lines: list[LogLine]) -> None:
        log = self.query_one("#log", RichLog)
        for line in lines:
            stamp = time.strftime("%H:%M:%S", time.localtime(line.time))
            text = Text(f"{stamp} ", style="dim")
            text.append(f"[{line.stage}] ", style="bold")
            text.append(line.text, style=LOG_STYLES.get(line.level, ""))
            log.write(text, scroll_end=False)
            self._log_seq = line.seq
        if lines:
            log.scroll_end(animate=False)

    def _update_spark(self, snap: Snapshot) -> None:
        self.spark_metric = snap.spark_metric or ""
        spark = self.query_one("#spark", Sparkline)
        spark.data = snap.spark
        value = f"newest {_short(snap.spark[-1])}  min {_short(min(snap.spark))}  max {_short(max(snap.spark))}" \
            if snap.spark else "no metrics yet"
        self.query_one("#spark-value", Static).update(value)

    def watch_spark_metric(self, name: str) -> None:
        self.query_one("#spark-box").border_title = f"metric: {name}" if name else "metric"

    # -- actions -------------------------------------------------------------------------
    def action_stop(self) -> None:
        """First press: stop the pipeline cleanly; the app closes when it has stopped."""
        if self.runner.done:
            self.exit(self.runner.result)
            return
        if self.model.status == "stopping" or self.phase == "stopping":
            self.notify(f"stopping: waiting for the stages to finish (at most {self.runtime.grace:g} s)")
            return
        self.runner.stop(STOP_REASON)
        self.phase = "stopping"
        self.notify("stopping the pipeline cleanly…")

    def action_next_metric(self) -> None:
        self.model.next_metric()
        self.refresh_view()


def _terminal() -> bool:
    # Textual draws on the process's original stderr.
    stream = sys.__stderr__
    return stream is not None and stream.isatty()


def run_dashboard(runtime: Runtime, *, hold: float = 1.5, metric: str | None = None,
                  force: bool = False) -> RunResult:
    """Run ``runtime`` under the dashboard and return its RunResult.

    Ends by itself when the pipeline ends. Without a terminal (CI, output
    redirected to a file) or if the UI fails, the pipeline runs without the
    dashboard, reporting to stderr as usual; ``force`` draws it anyway.
    """
    from lcpipe.runtime.reporter import attach_reporter

    if not force and not _terminal():
        print("lcpipe: --tui needs a terminal on stderr; running without the dashboard", file=sys.stderr)
        attach_reporter(runtime.bus)
        return runtime.run()
    app = Dashboard(runtime, hold=hold, metric=metric)
    restore = app.runner.install_signals()
    try:
        try:
            app.run()
        except Exception as exc:  # never lose a training run to a display problem
            print(f"lcpipe: the dashboard failed ({type(exc).__name__}: {exc}); "
                  "the pipeline goes on without it", file=sys.stderr)
        if not app.runner.done:
            attach_reporter(runtime.bus)
            if app.model.subscription is None:  # the app never got as far as mounting
                app.model.attach(runtime.bus)
            app.runner.start()
        result = app.runner.wait()
    finally:
        restore()
    # The dashboard's screen is gone once the app closes: leave the final state in the scrollback.
    snap = app.model.snapshot(logs_after=1 << 62)
    print(f"pipeline {snap.pipeline!r}, final state of its stages:", file=sys.stderr)
    for line in summary_lines(snap):
        print(line, file=sys.stderr)
    return result
