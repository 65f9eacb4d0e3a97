"""What the dashboard shows, gathered from the event bus (no Textual here).

The bus calls ``PipelineModel.on_event`` from its own thread; the app takes a
``snapshot()`` on a timer. Keeping the bookkeeping out of the widgets makes it
testable without a terminal, and leaves the UI thread only a few small dicts
to copy under one lock.
"""

from __future__ import annotations

import collections
import fnmatch
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lcpipe.runtime.bus import Event

SPARK_POINTS = 120  # history kept per metric for the sparkline
LOG_LINES = 500
# Metric names (last path component) shown in their own table column.
KEY_COLUMNS = {"loss": ("loss",), "lr": ("lr", "learning_rate"), "pos/s": ("positions_per_s",)}
RATE_METRICS = (("steps_per_s", "steps/s"), ("items_per_s", "items/s"), ("games_per_s", "games/s"))


@dataclass
class StageRow:
    name: str
    kind: str
    state: str = "pending"
    detail: str = ""
    step: int | None = None
    updated: float | None = None  # wall time of the stage's newest event
    metrics: dict[str, float] = field(default_factory=dict)
    rate: str = ""

    def _key_name(self, column: str) -> str | None:
        names = KEY_COLUMNS[column]
        found = [k for k in self.metrics if k.rpartition("/")[2] in names]
        found.sort(key=lambda k: (not k.startswith("train"), k.count("/"), k))
        return found[0] if found else None

    def key_metric(self, column: str) -> float | None:
        """The value for one of KEY_COLUMNS ('train/loss' before 'test/loss')."""
        name = self._key_name(column)
        return None if name is None else self.metrics[name]

    def other_metrics(self) -> dict[str, float]:
        """What the key columns and the rate column do not show already."""
        shown = {self._key_name(c) for c in KEY_COLUMNS}
        rates = {m for m, _ in RATE_METRICS}
        return {k: v for k, v in self.metrics.items() if k not in shown and k.rpartition("/")[2] not in rates}


@dataclass
class QueueRow:
    name: str  # "dst.port" for runtime edges, "segment:queue" for native internal queues
    fill: float
    items: float | None = None
    dropped: float = 0.0
    kind: str = "stream"


@dataclass
class LogLine:
    seq: int
    time: float
    level: str  # "info" | "warning" | "error" | "state" | "pipeline"
    stage: str
    text: str


@dataclass
class NetworkRow:
    stage: str
    path: str
    step: int | None
    kind: str
    time: float
    elo: str = ""  # an arena gate's verdict on it, when a gate runs


@dataclass
class Snapshot:
    pipeline: str
    status: str  # "starting" | "running" | "stopping" | "finished"
    reason: str
    exit_code: int | None
    elapsed: float
    stages: list[StageRow]
    queues: list[QueueRow]
    logs: list[LogLine]
    spark_metric: str | None
    spark: list[float]
    metric_names: list[str]
    lost_events: int = 0
    networks: list[NetworkRow] = field(default_factory=list)
    progress: dict[str, dict] = field(default_factory=dict)  # trainer stage -> its newest progress
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> newest metric values

    def find(self, pattern: str) -> list[tuple[str, str, float]]:
        """(stage, metric, value) of every metric matching a glob over 'metric' or 'stage/metric'."""
        out = []
        for stage, values in self.metrics.items():
            for name, value in values.items():
                if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(f"{stage}/{name}", pattern):
                    out.append((stage, name, value))
        return sorted(out)

    def history(self, metric: str) -> list[float]:
        return list(self.histories.get(metric, ()))

    histories: dict[str, list[float]] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out


class PipelineModel:
    """Thread-safe view of one run: stages, queues, log lines, metric history."""

    def __init__(self, plan, metric: str | None = None):
        """``plan``: a compiled Plan, or its description (lcpipe.compiler.describe_plan) from a remote run."""
        from lcpipe.compiler.plan import describe_plan

        desc = plan if isinstance(plan, dict) else describe_plan(plan)
        self._lock = threading.Lock()
        self._rows: dict[str, StageRow] = {}
        self._inputs: dict[str, list[str]] = {}  # segment -> its input queues
        self._outputs: dict[str, list[str]] = {}  # segment -> queues it alone writes
        self._queues: dict[str, QueueRow] = {}
        self.summary: dict[str, list[str]] = {}
        self.members: dict[str, list[str]] = {}  # fused native segment -> its member stages
        self._apply_plan(desc)
        self._items: dict[str, tuple[float, float]] = {}  # queue -> (time, items) of the last report
        self._queue_rate: dict[str, float] = {}
        self._history: dict[str, collections.deque[float]] = {}
        self._metric_order: list[str] = []
        self._spark_pattern = metric
        self._spark_metric: str | None = None
        self._logs: collections.deque[LogLine] = collections.deque(maxlen=LOG_LINES)
        self._networks: collections.deque[NetworkRow] = collections.deque(maxlen=200)
        self._progress: dict[str, dict] = {}
        self._seq = 0
        self.status = "starting"
        self.reason = ""
        self.exit_code: int | None = None
        self._started: float | None = None
        self._elapsed: float | None = None
        self.subscription = None

    def _apply_plan(self, desc: dict) -> None:
        self.pipeline = desc["pipeline"]
        for seg in desc["segments"]:
            self._rows.setdefault(seg["name"], StageRow(seg["name"], seg["type"])).kind = seg["type"]
            self._inputs[seg["name"]] = sorted({q["queue"] for q in seg["inputs"]})
            self._outputs[seg["name"]] = list(seg["outputs"])
            self.summary[seg["name"]] = list(seg.get("summary", []))
            if len(seg.get("stages", [])) > 1:
                self.members[seg["name"]] = list(seg["stages"])
            for q in seg["inputs"]:
                self._queues.setdefault(q["queue"], QueueRow(q["queue"], 0.0, kind=q["kind"]))

    # -- feeding -------------------------------------------------------------------
    def attach(self, bus) -> None:
        self.subscription = bus.subscribe(self.on_event, replay=True)

    def on_event(self, event: Event) -> None:
        with self._lock:
            handler = getattr(self, f"_on_{event.kind}", None)
            if handler is not None:
                handler(event)

    def on_message(self, message: dict) -> None:
        """A protocol message of a remote run (lcpipe.daemon.protocol), fed like a bus event."""
        kind = message.get("type", "")
        if kind in ("state", "metrics", "log", "pipeline", "network", "progress"):
            data = {k: v for k, v in message.items() if k not in ("type", "stage")}
            self.on_event(Event(kind, message.get("stage", "runtime"), data))

    def _log(self, event: Event, level: str, text: str) -> None:
        self._seq += 1
        self._logs.append(LogLine(self._seq, event.time, level, event.stage, text))

    def _row(self, stage: str) -> StageRow:
        if stage not in self._rows:  # a stage the plan did not name (should not happen, but show it)
            self._rows[stage] = StageRow(stage, "?")
        return self._rows[stage]

    def _on_state(self, event: Event) -> None:
        row = self._row(event.stage)
        row.state = str(event.data.get("state", "?"))
        row.detail = str(event.data.get("detail") or "")
        row.updated = event.time
        text = f"{row.state}" + (f": {row.detail}" if row.detail else "")
        self._log(event, "error" if row.state == "failed" else "state", text)

    def _on_log(self, event: Event) -> None:
        level = str(event.data.get("level", "info"))
        self._log(event, level, str(event.data.get("message", "")))
        if event.stage in self._rows:
            self._rows[event.stage].updated = event.time

    def _on_pipeline(self, event: Event) -> None:
        what = event.data.get("event")
        if what == "started":
            if event.data.get("plan"):  # a daemon's run: the plan is known once it has started
                self._apply_plan(event.data["plan"])
            self.status, self._started = "running", event.time
            self._log(event, "pipeline", f"pipeline {event.data.get('pipeline', self.pipeline)!r} started")
        elif what == "stopping":
            self.status, self.reason = "stopping", str(event.data.get("reason", ""))
            self._log(event, "pipeline", f"stopping: {self.reason}")
        elif what == "finished":
            self.status = "finished"
            self.reason = str(event.data.get("reason", ""))
            self.exit_code = event.data.get("exit_code")
            self._elapsed = event.data.get("elapsed")
            self._log(event, "pipeline", f"finished (exit {self.exit_code}): {self.reason}")

    def _on_network(self, event: Event) -> None:
        d = event.data
        self._networks.append(
            NetworkRow(event.stage, str(d.get("path", "")), d.get("step"), str(d.get("kind", "")), event.time)
        )
        self._log(event, "info", f"network {d.get('path', '')} (step {d.get('step')})")

    def _on_progress(self, event: Event) -> None:
        self._progress[event.stage] = dict(event.data)

    def _on_metrics(self, event: Event) -> None:
        values = event.data.get("values", {})
        if event.stage == "runtime" or any(k.startswith("queue/") for k in values):
            self._queue_metrics(event, values)
        if event.stage == "runtime":
            return
        row = self._row(event.stage)
        row.updated = event.time
        if event.data.get("step") is not None:
            row.step = int(event.data["step"])
        for key, raw in values.items():
            if key.startswith("queue/"):
                continue
            value = _number(raw)
            if value is None:
                continue
            row.metrics[key] = value
            full = f"{event.stage}/{key}"
            if full not in self._history:
                self._history[full] = collections.deque(maxlen=SPARK_POINTS)
                self._metric_order.append(full)
                self._spark_metric = None  # a better default may have appeared
            self._history[full].append(value)
        if self._spark_metric is None:
            self._spark_metric = self._pick_spark()

    def _queue_metrics(self, event: Event, values: dict[str, Any]) -> None:
        for key, raw in values.items():
            if not key.startswith("queue/"):
                continue
            queue, _, what = key[len("queue/") :].rpartition("/")
            name = queue if event.stage == "runtime" else f"{event.stage}:{queue}"
            value = _number(raw)
            if value is None or not queue:
                continue
            if event.stage == "runtime" and name not in self._queues:
                continue  # an edge inside a fused native segment: its segment reports the real queue
            row = self._queues.setdefault(name, QueueRow(name, 0.0))
            if what == "fill":
                row.fill = min(1.0, max(0.0, value))
            elif what == "items":
                row.items = value
                if name in self._items:
                    t0, n0 = self._items[name]
                    if event.time > t0:
                        self._queue_rate[name] = max(0.0, (value - n0) / (event.time - t0))
                self._items[name] = (event.time, value)
            elif what == "dropped":
                row.dropped = value

    def _pick_spark(self) -> str | None:
        """The user's pattern, else the most telling metric: a loss, then a throughput."""
        names = self._metric_order
        if self._spark_pattern:
            pattern = self._spark_pattern
            return next(
                (n for n in names if fnmatch.fnmatchcase(n, pattern) or n.endswith("/" + pattern)), None
            )
        for suffix in ("train/loss", "/loss", "/positions_per_s", "/steps_per_s", "/items_per_s"):
            found = [n for n in names if n.endswith(suffix)]
            if found:
                return found[0]
        return names[0] if names else None

    # -- user choices ----------------------------------------------------------------
    def next_metric(self) -> str | None:
        """Show the next metric in the sparkline (in order of first appearance)."""
        with self._lock:
            names = self._metric_order
            if not names:
                return None
            i = names.index(self._spark_metric) + 1 if self._spark_metric in names else 0
            self._spark_metric = names[i % len(names)]
            self._spark_pattern = self._spark_metric
            return self._spark_metric

    def choose_metric(self, name: str) -> None:
        """Show ``name`` ('stage/metric', or a pattern) in the chart."""
        with self._lock:
            self._spark_pattern = name
            self._spark_metric = self._pick_spark()

    # -- reading -----------------------------------------------------------------------
    def _rate(self, row: StageRow) -> str:
        for metric, unit in RATE_METRICS:
            value = next((v for k, v in row.metrics.items() if k.rpartition("/")[2] == metric), None)
            if value is not None:
                return f"{_short(value)} {unit}"
        # Otherwise what flows through its edges, measured by the runtime.
        incoming = [self._queue_rate[q] for q in self._inputs.get(row.name, []) if q in self._queue_rate]
        if incoming:
            return f"{_short(sum(incoming))}/s in"
        outgoing = [self._queue_rate[q] for q in self._outputs.get(row.name, []) if q in self._queue_rate]
        if outgoing:
            return f"{_short(max(outgoing))}/s out"
        return ""

    def snapshot(self, logs_after: int = 0) -> Snapshot:
        with self._lock:
            stages = []
            for row in self._rows.values():
                copy = StageRow(
                    row.name, row.kind, row.state, row.detail, row.step, row.updated, dict(row.metrics)
                )
                copy.rate = self._rate(row)
                stages.append(copy)
            queues = [QueueRow(q.name, q.fill, q.items, q.dropped, q.kind) for q in self._queues.values()]
            logs = [line for line in self._logs if line.seq > logs_after]
            spark = list(self._history.get(self._spark_metric, ())) if self._spark_metric else []
            if self._elapsed is not None:
                elapsed = float(self._elapsed)
            elif self._started is not None:
                elapsed = time.time() - self._started
            else:
                elapsed = 0.0
            lost = self.subscription.lost if self.subscription is not None else 0
            networks = list(self._networks)
            return Snapshot(
                self.pipeline,
                self.status,
                self.reason,
                self.exit_code,
                elapsed,
                stages,
                queues,
                logs,
                self._spark_metric,
                spark,
                list(self._metric_order),
                lost,
                networks,
                {k: dict(v) for k, v in self._progress.items()},
                {r.name: dict(r.metrics) for r in stages},
                {k: list(v) for k, v in self._history.items()},
            )


def _short(value: float) -> str:
    """A compact number for a narrow column: 0.0123, 12.3, 4.57k, 1.2M."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g}M"
    if a >= 1e4:
        return f"{value / 1e3:.3g}k"
    if a >= 100:
        return f"{value:.0f}"
    if a == 0 or a >= 0.01:
        return f"{value:.3g}"
    return f"{value:.2e}"


def summary_lines(snap: Snapshot) -> list[str]:
    """The final state as plain text (printed once the dashboard has closed)."""
    width = max((len(r.name) for r in snap.stages), default=5)
    lines = []
    for row in snap.stages:
        parts = [f"{row.state:<9}"]
        if row.step is not None:
            parts.append(f"step {row.step}")
        for column in KEY_COLUMNS:
            value = row.key_metric(column)
            if value is not None:
                parts.append(f"{column} {_short(value)}")
        if row.detail and row.state == "failed":
            parts.append(row.detail.splitlines()[0][:100])
        lines.append(f"  {row.name:<{width}}  " + "  ".join(parts))
    return lines
