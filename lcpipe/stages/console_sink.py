"""sink.console: a periodic table of the newest metrics on the terminal."""

from __future__ import annotations

import sys

from lcpipe.runtime.bus import Event
from lcpipe.runtime.stage import Stage
from lcpipe.stages.metric_filter import metric_matcher


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


class ConsoleSink(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.keep = metric_matcher(self.config["include"])
        self.latest: dict[str, dict[str, object]] = {}
        self.out = sys.stdout if self.config["stream"] == "stdout" else sys.stderr

    def _on_event(self, event: Event) -> None:
        values = event.data.get("values", {})
        step = event.data.get("step")
        row = self.latest.setdefault(event.stage, {})
        for name, value in values.items():
            if self.keep(event.stage, name):
                row[name] = value
        if step is not None:
            row["step"] = step

    def report(self) -> None:
        lines = []
        for stage in sorted(self.latest):
            row = self.latest[stage]
            if not row:
                continue
            parts = " ".join(f"{k}={_fmt(v)}" for k, v in sorted(row.items()))
            lines.append(f"  {stage}: {parts}")
        if lines:
            print("metrics:\n" + "\n".join(lines), file=self.out, flush=True)

    def run(self) -> None:
        sub = self.ctx.bus.subscribe(self._on_event, kinds={"metrics"})
        while self.ctx.sleep(self.config["interval"]):
            self.report()
        sub.close()
        self.report()
