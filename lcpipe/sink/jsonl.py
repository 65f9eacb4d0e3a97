"""sink.jsonl: every bus event of the chosen kinds as one JSON line."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

from lcpipe.runtime.bus import Event
from lcpipe.runtime.stage import Stage
from lcpipe.sink.metric_filter import metric_matcher


def _clean(value):
    """JSON has no NaN/inf: write them as strings so lines stay valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


class JsonlSink(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.keep = metric_matcher(self.config["include"])
        path = Path(self.config["path"])
        self.path = path if path.is_absolute() else ctx.workdir / path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")
        self._last_flush = time.monotonic()

    def _on_event(self, event: Event) -> None:
        data = dict(event.data)
        if event.kind == "metrics":
            values = {k: v for k, v in data.get("values", {}).items() if self.keep(event.stage, k)}
            if not values:
                return
            data["values"] = values
        line = json.dumps(
            _clean({"time": event.time, "kind": event.kind, "stage": event.stage, **data}), default=str
        )
        with self._lock:
            self._file.write(line + "\n")
            now = time.monotonic()
            if now - self._last_flush >= self.config["flush_every"]:
                self._file.flush()
                self._last_flush = now

    def run(self) -> None:
        sub = self.ctx.bus.subscribe(self._on_event, kinds=set(self.config["events"]))
        while self.ctx.sleep(0.5):
            pass
        sub.close()
        with self._lock:
            self._file.flush()
            self._file.close()
