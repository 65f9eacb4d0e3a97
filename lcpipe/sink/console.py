"""sink.console: a short, readable summary of the run on the terminal.

Every ``interval`` seconds one line per stage: its state (with what a
waiting stage waits for), its rates and the few numbers that matter (the
metrics its stage type names in ``StageType.summary``), plus a progress line
per trainer (step, steps/s, ETA to the next network and to the end). Metrics
matching ``include`` are added to their stage's line: detail on request.
"""

from __future__ import annotations

import sys
import threading
import time
from fnmatch import fnmatchcase
from typing import TypeVar

from lcpipe.runtime.bus import Event
from lcpipe.runtime.stage import Stage
from lcpipe.sink.metric_filter import metric_matcher

V = TypeVar("V")

MAX_LINE = 160  # a stage's line is cut here: the console is a summary, the sinks keep everything


def _fmt(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e9:
        return f"{int(value):,}"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}" if abs(value) < 100 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(p: dict) -> str:
    """'step 1,200 of 5,000 · 2.5 steps/s · next network at 1,400 in 1m20s · end in 25m'."""
    step = int(p["step"])
    total, nxt, rate = p.get("total_steps"), p.get("next_network"), p.get("steps_per_s")
    parts = [f"step {step:,}" + (f" of {int(total):,}" if total else "")]
    if rate:
        parts.append(f"{rate:.3g} steps/s")
    if nxt:
        parts.append(
            f"next network at {int(nxt):,}" + (f" in {_duration((nxt - step) / rate)}" if rate else "")
        )
    if total and rate:
        parts.append(f"end in {_duration((total - step) / rate)}")
    return " · ".join(parts)


def short_labels(chosen: list[tuple[str, V]]) -> list[tuple[str, V]]:
    """Metric names without their area prefix when they all share it ('train/loss' -> 'loss');
    a fused segment's members keep theirs ('pool/size')."""
    prefixes = {k.split("/", 1)[0] for k, _ in chosen if "/" in k}
    if len(prefixes) == 1 and all("/" in k for k, _ in chosen):
        return [(k.split("/", 1)[1], v) for k, v in chosen]
    return chosen


class ConsoleSink(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        patterns = [p for p in self.config["include"] if p != "*"]
        self.detail = metric_matcher(patterns) if patterns else None
        self.everything = "*" in self.config["include"]
        self.out = sys.stdout if self.config["stream"] == "stdout" else sys.stderr
        self._lock = threading.Lock()
        self.metrics: dict[str, dict[str, object]] = {}
        self.states: dict[str, tuple[str, str]] = {}
        self.progress: dict[str, dict] = {}
        self.summary: dict[str, list[str]] = {}
        self.order: list[str] = []
        self.networks: dict[str, tuple[int, str]] = {}  # stage -> (count, last path)
        self.started = time.monotonic()

    def _on_event(self, event: Event) -> None:
        data = event.data
        with self._lock:
            if event.kind == "metrics":
                self.metrics.setdefault(event.stage, {}).update(data.get("values", {}))
            elif event.kind == "state":
                self.states[event.stage] = (data.get("state", ""), data.get("detail", ""))
            elif event.kind == "progress":
                self.progress[event.stage] = dict(data)
            elif event.kind == "network":
                count, _ = self.networks.get(event.stage, (0, ""))
                self.networks[event.stage] = (count + 1, str(data.get("path", "")))
            elif event.kind == "pipeline" and data.get("event") == "started":
                self.order = list(data.get("stages", []))
                self.summary = {k: list(v) for k, v in (data.get("summary") or {}).items()}

    def _chosen(self, stage: str, values: dict[str, object]) -> list[tuple[str, object]]:
        if self.everything:
            return sorted(values.items())
        wanted = self.summary.get(stage, [])
        picked = [(k, values[k]) for pat in wanted for k in sorted(values) if fnmatchcase(k, pat)]
        if not wanted:  # a stage type that names nothing: its rates
            picked = [(k, v) for k, v in sorted(values.items()) if k.endswith("_per_s")][:3]
        if self.detail is not None:
            picked += [
                (k, v) for k, v in sorted(values.items()) if self.detail(stage, k) and (k, v) not in picked
            ]
        seen, out = set(), []
        for k, v in picked:
            if k not in seen:
                seen.add(k)
                out.append((k, v))
        return out

    def lines(self) -> list[str]:
        with self._lock:
            stages = self.order + sorted((set(self.states) | set(self.metrics)) - set(self.order))
            out = [f"[{time.strftime('%H:%M:%S')}] running for {_duration(time.monotonic() - self.started)}"]
            width = max((len(s) for s in stages), default=0)
            for stage in stages:
                if stage == self.ctx.name:
                    continue
                state, detail = self.states.get(stage, ("", ""))
                head = state + (f" ({detail})" if detail and state != "running" else "")
                chosen = self._chosen(stage, self.metrics.get(stage, {}))
                parts = [f"{label} {_fmt(v)}" for label, v in short_labels(chosen)]
                if stage in self.networks:
                    count, path = self.networks[stage]
                    parts.append(
                        f"{count} network{'s' if count != 1 else ''}, last {path.rsplit('/', 1)[-1]}"
                    )
                if not head and not parts:
                    continue
                line = f"  {stage:<{width}}  {head:<10}" + ("  " + " · ".join(parts) if parts else "")
                out.append(line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…")
                if stage in self.progress:
                    out.append(f"  {'':<{width}}  {'':<10}  {progress_line(self.progress[stage])}")
            return out

    def report(self) -> None:
        lines = self.lines()
        if len(lines) > 1:
            print("\n".join(lines), file=self.out, flush=True)

    def run(self) -> None:
        sub = self.ctx.bus.subscribe(
            self._on_event, kinds={"metrics", "state", "progress", "network", "pipeline"}
        )
        while self.ctx.sleep(self.config["interval"]):
            self.report()
        sub.close()
        self.report()
