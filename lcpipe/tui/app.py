"""The live dashboard: `lcpipe run --tui` and `lcpipe attach RUN_DIR`.

It shows a run in this process (``PipelineThread``: the pipeline runs in a
worker thread, quitting stops it) or a run in another process, through its
control socket (``RemoteRun``: quitting detaches and the run goes on; `s`,
pressed twice, stops it). Events (bus events, or protocol messages of the
remote run) land in a thread-safe ``PipelineModel``; a timer copies its
snapshot into the widgets a few times a second. When the pipeline ends by
itself the app shows the final status for ``hold`` seconds and closes, so a
run without anyone at the keyboard (CI) never hangs.

Panes (tabs): overview (stages, queues, a chart, the log), training, self-play
and networks. The command palette (ctrl+p) holds the run's commands and a
searchable chart picker.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from functools import partial

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, RichLog, Sparkline, Static, TabbedContent, TabPane

from lcpipe.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from lcpipe.runtime.runner import RunResult, Runtime
from lcpipe.sink.console import progress_line, short_labels
from lcpipe.tui.control import PipelineThread
from lcpipe.tui.link import RemoteRun
from lcpipe.tui.model import LogLine, PipelineModel, Snapshot, _short, summary_lines
from lcpipe.tui.widgets import QueueBar

STOP_REASON = "stopped from the dashboard"
COLUMNS = ("stage", "type", "state", "rate", "step", "metrics", "updated")
CONFIRM_SECONDS = 5.0  # a second `s` within this time stops a remote run
STATE_STYLES = {
    "pending": "dim",
    "starting": "cyan",
    "running": "green",
    "finished": "blue",
    "failed": "bold red",
}
TRAINING_AREAS = ("train", "test", "validation")  # metric prefixes of the Training pane (test_swa/, ...)
LOG_STYLES = {"warning": "yellow", "error": "bold red", "state": "cyan", "pipeline": "bold", "info": ""}


def _ago(t: float | None, now: float) -> str:
    if t is None:
        return ""
    return f"{max(0.0, now - t):.0f}s ago"


def _others(metrics: dict[str, float], limit: int = 3) -> str:
    items = sorted(metrics.items())[:limit]
    text = " ".join(f"{k}={_short(v)}" for k, v in items)
    return text + (" …" if len(metrics) > limit else "")


def compact_type(kind: str) -> str:
    """'native: loader.watch + loader.read + ...' -> 'native loader ×10': the member list pushed
    every other column off a 200-column screen ('e' shows the members as rows of their own)."""
    if not kind.startswith("native: "):
        return kind
    members = kind[len("native: ") :].split(" + ")
    engines = sorted({m.split(".", 1)[0] for m in members})
    return f"native {'/'.join(engines)} ×{len(members)}"


def _member_cells(segment, member: str, kind: str, patterns: list[str]) -> dict:
    """A row of one member stage of a fused segment: its own metrics ('pool/size' -> 'size')."""
    own = {k.split("/", 1)[1]: v for k, v in segment.metrics.items() if k.startswith(member + "/")}
    chosen = [p.split("/", 1)[1] for p in patterns if p.startswith(member + "/")]
    shown = {k: own[k] for k in chosen if k in own} or {k: v for k, v in own.items() if k in MEMBER_DEFAULTS}
    rate = own.get("items_per_s")
    return {
        "stage": f" └ {member}",
        "type": kind,
        "state": "",
        "rate": "" if rate is None else f"{_short(rate)} items/s",
        "step": "",
        "metrics": " ".join(f"{k}={_short(v)}" for k, v in shown.items()),
        "updated": "",
    }


MEMBER_DEFAULTS = ("out", "bad")  # a member stage that names no summary: items out, bad inputs


def _summary(metrics: dict[str, float], patterns: list[str]) -> str:
    """The metrics a stage type names as its summary, else the first few of all."""
    if not patterns:
        return _others(metrics)
    chosen = [(k, metrics[k]) for p in patterns for k in sorted(metrics) if fnmatchcase(k, p)]
    return " ".join(f"{k}={_short(v)}" for k, v in short_labels(chosen))


class RunCommands(Provider):
    """The command palette: the run's commands and a searchable chart picker."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        assert isinstance(app, Dashboard)
        out: list[tuple[str, Callable[[], object], str]] = [
            (
                "Stop the run",
                app.action_confirm_stop if app.remote else app.action_stop,
                "stop every stage in order",
            )
        ]
        if app.remote:
            out.append(("Detach (the run goes on)", app.action_detach, "close the dashboard only"))
        out += [
            ("Train now", lambda: app.control("train_now"), "start the next training round"),
            ("Export now", lambda: app.control("export_now"), "export a network at the current step"),
        ]
        snap = app.last_snapshot
        for row in snap.stages if snap else []:
            out.append(
                (f"Pause {row.name}", partial(app.control, "pause", row.name), "its reads and writes wait")
            )
            out.append((f"Resume {row.name}", partial(app.control, "resume", row.name), ""))
        for name in snap.metric_names if snap else []:
            out.append((f"Chart {name}", partial(app.chart, name), "show this metric in the overview chart"))
        return out

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands()[:12]:
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_text)


class Dashboard(App[RunResult]):
    """Stages, queues, training, self-play, networks and the log of one pipeline run."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "lcpipe"
    COMMANDS = App.COMMANDS | {RunCommands}
    BINDINGS = [
        Binding("q", "quit_key", "Quit"),
        Binding("s", "confirm_stop", "Stop the run"),
        Binding("ctrl+c", "quit_key", "Quit", show=False, priority=True),
        Binding("ctrl+q", "quit_key", "Quit", show=False, priority=True),
        Binding("m", "next_metric", "Next chart"),
        Binding("e", "toggle_members", "Native members"),
    ]

    status_text: reactive[str] = reactive("")
    phase: reactive[str] = reactive("starting")
    spark_metric: reactive[str] = reactive("")

    def __init__(
        self,
        run: Runtime | RemoteRun,
        *,
        hold: float = 1.5,
        metric: str | None = None,
        refresh_interval: float = 0.25,
    ):
        """``run``: a Runtime to run here (quitting stops it) or a RemoteRun (quitting detaches)."""
        super().__init__()
        self.remote = isinstance(run, RemoteRun)
        self.runtime: Runtime | None
        self.runner: PipelineThread | RemoteRun
        if isinstance(run, RemoteRun):
            plan = (run.hello or {}).get("plan") or {"pipeline": "?", "segments": []}
            self.runtime = None
            self.runner = run
            self.model = PipelineModel(plan, metric)
            run.on_message = self.model.on_message
        else:
            self.runtime = run
            self.runner = PipelineThread(run)
            self.model = PipelineModel(run.plan, metric)
        self._stop_asked_at = -1e9
        self.hold = hold
        self.refresh_interval = refresh_interval
        self._log_seq = 0
        self._bars: dict[str, QueueBar] = {}
        self._rows: list[str] = []  # the stages table's row keys, in order
        self.show_members = False  # fused native segments: one compact row, or also a row per member
        self.last_snapshot: Snapshot | None = None

    # -- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with TabbedContent(id="tabs"):
            with TabPane("Overview", id="overview"):
                yield DataTable(id="stages", cursor_type="none", zebra_stripes=True)
                with Horizontal(id="bottom"):
                    with Vertical(id="left"):
                        yield VerticalScroll(id="queues")
                        with Vertical(id="spark-box"):
                            yield Sparkline([], id="spark")
                            yield Static(id="spark-value")
                    yield RichLog(id="log", wrap=True, max_lines=2000, min_width=20)
            with TabPane("Training", id="training"):
                yield Static("no trainer has reported yet", id="train-progress")
                with Horizontal(id="train-body"):
                    yield DataTable(id="train-metrics", cursor_type="none", zebra_stripes=True)
                    with Vertical(id="loss-box"):
                        yield Sparkline([], id="loss-spark")
                        yield Static(id="loss-value")
            with TabPane("Self-play", id="selfplay"):
                yield DataTable(id="selfplay-table", cursor_type="none", zebra_stripes=True)
            with TabPane("Networks", id="networks"):
                yield Static("no network exported yet", id="networks-head")
                yield DataTable(id="networks-table", cursor_type="none", zebra_stripes=True)
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
        self.query_one("#loss-box").border_title = "loss"
        for table_id in ("train-metrics", "selfplay-table"):  # keyed columns: update_cell names "value"
            for column in ("stage", "metric", "value"):
                self.query_one(f"#{table_id}", DataTable).add_column(column, key=column)
        self.query_one("#networks-table", DataTable).add_columns("step", "kind", "file", "stage", "written")
        self._tables: dict[str, set] = {"train-metrics": set(), "selfplay-table": set()}
        self._networks_shown = 0
        if self.remote:
            self.sub_title = "attached: q detaches (the run goes on), s twice stops it"
        elif self.model.subscription is None and self.runtime is not None:
            self.model.attach(self.runtime.bus)
        self.runner.on_done(self._done_from_thread)
        self.runner.start()
        self.set_interval(self.refresh_interval, self.refresh_view)
        self.refresh_view()

    # -- updates -----------------------------------------------------------------------
    def _done_from_thread(self, result: RunResult | None) -> None:
        if not self.is_running:
            return
        if threading.current_thread() is threading.main_thread():  # a remote run that had already ended
            self.call_later(self._pipeline_done)
            return
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
        self.title = f"lcpipe · {snap.pipeline}"
        self._update_table(snap)
        self._update_queues(snap)
        self._update_log(snap.logs)
        self._update_spark(snap)
        self._update_training(snap)
        self._update_selfplay(snap)
        self._update_networks(snap)
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

    def _table_rows(self, snap: Snapshot) -> list[tuple[str, dict]]:
        now = time.time()
        out = []
        for row in snap.stages:
            out.append(
                (
                    row.name,
                    {
                        "stage": row.name,
                        "type": compact_type(row.kind),
                        "state": Text(row.state, style=STATE_STYLES.get(row.state, "")),
                        "rate": row.rate,
                        "step": "" if row.step is None else str(row.step),
                        "metrics": _summary(row.metrics, self.model.summary.get(row.name, [])),
                        "updated": _ago(row.updated, now),
                    },
                )
            )
            members = self.model.members.get(row.name, [])
            if self.show_members and members:
                kinds = row.kind[len("native: ") :].split(" + ")
                for member, kind in zip(members, kinds):
                    out.append(
                        (
                            f"{row.name}/{member}",
                            _member_cells(row, member, kind, self.model.summary.get(row.name, [])),
                        )
                    )
        return out

    def _update_table(self, snap: Snapshot) -> None:
        table = self.query_one("#stages", DataTable)
        rows = self._table_rows(snap)
        if [key for key, _ in rows] != self._rows:  # rows came or went (members shown/hidden): rebuild
            table.clear()
            for key, cells in rows:
                table.add_row(*(cells[c] for c in COLUMNS), key=key)
            self._rows = [key for key, _ in rows]
            return
        for key, cells in rows:
            for column, value in cells.items():
                table.update_cell(key, column, value, update_width=column != "updated")

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
        value = (
            f"newest {_short(snap.spark[-1])}  min {_short(min(snap.spark))}  max {_short(max(snap.spark))}"
            if snap.spark
            else "no metrics yet"
        )
        self.query_one("#spark-value", Static).update(value)

    def _fill_metric_table(self, table_id: str, rows: list[tuple[str, str, float]]) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        shown = self._tables[table_id]
        for stage, name, value in rows:
            key = f"{stage}/{name}"
            if key in shown:
                table.update_cell(key, "value", _short(value))
            else:
                table.add_row(stage, name, _short(value), key=key)
                shown.add(key)

    def _update_training(self, snap: Snapshot) -> None:
        lines = [f"{stage}: {progress_line(p)}" for stage, p in sorted(snap.progress.items())]
        if lines:
            self.query_one("#train-progress", Static).update("\n".join(lines))
        # A trainer's own metrics only: a loader's test_pool/... are not test metrics, and a
        # stage named "train" must not list each of its metrics twice.
        trainers = set(snap.progress) | {
            stage for stage, values in snap.metrics.items() if any(k.startswith("train/") for k in values)
        }
        rows = [
            (stage, name, value)
            for stage in sorted(trainers)
            for name, value in snap.metrics.get(stage, {}).items()
            if name.split("/", 1)[0].startswith(TRAINING_AREAS)
        ]
        rows.sort(key=lambda r: (r[0], [r[1].startswith(a) for a in TRAINING_AREAS].index(True), r[1]))
        self._fill_metric_table("train-metrics", rows)
        loss = next((f"{stage}/{name}" for stage, name, _ in snap.find("train/loss")), None)
        if loss:
            data = snap.history(loss)
            self.query_one("#loss-spark", Sparkline).data = data
            self.query_one("#loss-box").border_title = f"loss: {loss}"
            if data:
                self.query_one("#loss-value", Static).update(
                    f"newest {_short(data[-1])}  min {_short(min(data))}  max {_short(max(data))}"
                )

    def _update_selfplay(self, snap: Snapshot) -> None:
        self._fill_metric_table("selfplay-table", snap.find("selfplay/*"))

    def _update_networks(self, snap: Snapshot) -> None:
        table = self.query_one("#networks-table", DataTable)
        for net in snap.networks[self._networks_shown :]:
            stamp = time.strftime("%H:%M:%S", time.localtime(net.time))
            table.add_row(
                "" if net.step is None else str(net.step),
                net.kind,
                net.path.rsplit("/", 1)[-1],
                net.stage,
                stamp,
            )
        self._networks_shown = len(snap.networks)
        gate = snap.find("gate/*")
        head = f"{len(snap.networks)} network(s) exported"
        if gate:
            head += " · arena: " + " ".join(f"{name.split('/', 1)[1]}={_short(v)}" for _, name, v in gate[:6])
        if snap.networks or gate:
            self.query_one("#networks-head", Static).update(head)

    def chart(self, name: str) -> None:
        """Show one metric ('stage/metric') in the overview chart (the palette's picker)."""
        self.model.choose_metric(name)
        self.refresh_view()

    def control(self, kind: str, stage: str | None = None) -> None:
        """A run command from the palette: train_now, export_now, pause, resume."""
        try:
            if isinstance(self.runner, RemoteRun):
                request = {"type": kind} if stage is None else {"type": kind, "stage": stage}
                self.runner.send(request)
            elif self.runtime is None:
                raise ValueError("no run to control")
            elif kind in ("pause", "resume"):
                (self.runtime.pause if kind == "pause" else self.runtime.resume)(stage or "")
            else:
                self.runtime.command(kind, stage)
            self.notify(f"{kind}" + (f" {stage}" if stage else "") + " sent")
        except (KeyError, ValueError) as exc:
            self.notify(str(exc).strip("'\""), severity="warning")

    def watch_spark_metric(self, name: str) -> None:
        self.query_one("#spark-box").border_title = f"metric: {name}" if name else "metric"

    # -- actions -------------------------------------------------------------------------
    def action_quit_key(self) -> None:
        """q: an attached dashboard detaches (the run goes on); one running the pipeline stops it."""
        if self.remote:
            self.action_detach()
        else:
            self.action_stop()

    def action_detach(self) -> None:
        if isinstance(self.runner, RemoteRun):  # only an attached dashboard detaches
            self.runner.detach()
        self.exit(None)

    def action_confirm_stop(self) -> None:
        """s: stop the run, after a second press within CONFIRM_SECONDS."""
        now = time.monotonic()
        if self.runner.done:
            self.exit(self.runner.result)
        elif now - self._stop_asked_at <= CONFIRM_SECONDS:
            self.action_stop()
        else:
            self._stop_asked_at = now
            self.notify(f"press s again within {CONFIRM_SECONDS:g} s to stop the run", severity="warning")

    def action_stop(self) -> None:
        """Stop the pipeline cleanly; the app closes when it has stopped."""
        if self.runner.done:
            self.exit(self.runner.result)
            return
        if self.model.status == "stopping" or self.phase == "stopping":
            grace = f" (at most {self.runtime.grace:g} s)" if self.runtime is not None else ""
            self.notify(f"stopping: waiting for the stages to finish{grace}")
            return
        self.runner.stop(STOP_REASON)
        self.phase = "stopping"
        self.notify("stopping the pipeline cleanly…")

    def action_toggle_members(self) -> None:
        """e: show (or hide) the member stages of fused native segments as rows of their own."""
        self.show_members = not self.show_members
        self.refresh_view()

    def action_next_metric(self) -> None:
        self.model.next_metric()
        self.refresh_view()


def terminal_available() -> bool:
    """Textual draws on the process's original stderr: is it a terminal?"""
    return _terminal()


def _terminal() -> bool:
    # Textual draws on the process's original stderr.
    stream = sys.__stderr__
    return stream is not None and stream.isatty()


def run_dashboard_daemon(
    spec: str, overrides: list[str], stop_after: list[str], grace: float, log_path
) -> int:
    """`lcpipe run --tui`: start `lcpipe daemon` as a subprocess running the pipeline and show it.

    Quitting the dashboard detaches: the daemon (in its own session, its log in
    ``log_path``) runs on and serves the run's socket (`lcpipe attach`). Stop
    keys and SIGINT/SIGTERM stop the run; then the exit code is the run's.
    """
    import os
    import signal
    import subprocess
    from pathlib import Path

    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lcpipe.cli.main", "daemon"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    try:
        run = RemoteRun.over_pipes(proc)
        answer = run.request(
            {
                "type": "start",
                "spec": str(Path(spec).resolve()),
                "set": list(overrides),
                "stop_after": list(stop_after),
                "grace": grace,
            }
        )
    except (OSError, TimeoutError) as exc:
        proc.kill()
        print(
            f"lcpipe run --tui: the daemon did not start the run: {exc} (its log: {log_path})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if answer["type"] == "error":
        run.send({"type": "shutdown"})
        proc.wait(60)
        print(f"lcpipe run --tui: {answer['message']}", file=sys.stderr)
        for err in answer.get("errors", []):
            print(
                f"{err.get('file')}:{err.get('line')}:{err.get('column')}: error: {err.get('message')}",
                file=sys.stderr,
            )
        return EXIT_USAGE
    app = Dashboard(run)
    signalled: list[int] = []

    def on_signal(signum, _frame) -> None:
        signalled.append(signum)
        run.stop(f"received {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            app.run()
        except Exception as exc:  # never lose a training run to a display problem
            print(
                f"lcpipe: the dashboard failed ({type(exc).__name__}: {exc}); the run goes on "
                f"(lcpipe attach to watch it)",
                file=sys.stderr,
            )
            run.detach()
        if run.detached and not signalled:
            print(
                f"detached: the run goes on in process {proc.pid} (log: {log_path}); "
                "`lcpipe attach RUN_DIR` to watch it again, `lcpipe status RUN_DIR` for a summary",
                file=sys.stderr,
            )
            return EXIT_OK
        result = run.wait()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if not run.detached:
        run.send({"type": "shutdown"})
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    snap = app.model.snapshot(logs_after=1 << 62)
    print(f"pipeline {snap.pipeline!r}, final state of its stages:", file=sys.stderr)
    for line in summary_lines(snap):
        print(line, file=sys.stderr)
    if result is not None:
        print(
            f"pipeline {snap.pipeline!r} stopped after {result.elapsed:.1f}s: {result.reason}",
            file=sys.stderr,
        )
    if signalled:
        return 130 if signalled[0] == signal.SIGINT else 143
    return result.exit_code if result is not None else 1
