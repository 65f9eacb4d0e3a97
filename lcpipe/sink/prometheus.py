"""sink.prometheus: the newest metrics over HTTP in Prometheus' text format.

Every numeric metric becomes a gauge ``lcpipe_<stage>_<metric>{stage="..."}``
with the name reduced to the characters Prometheus allows. The runtime's queue
metrics ("queue/<edge>/<what>") become ``lcpipe_queue_<what>{queue="<edge>"}``
so that one query covers every edge, and each stage's current state is
``lcpipe_stage_state{stage="...",state="..."} 1``.
"""

from __future__ import annotations

import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lcpipe.runtime.bus import Event
from lcpipe.runtime.stage import Stage, StageFailed
from lcpipe.sink.metric_filter import metric_matcher

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metric_name(*parts: str) -> str:
    """Join parts with '_' and keep only [a-zA-Z0-9_:] (no leading digit)."""
    name = re.sub(r"[^a-zA-Z0-9_:]", "_", "_".join(parts))
    name = re.sub(r"__+", "_", name).strip("_")
    return name if not name[:1].isdigit() else "_" + name


def label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def help_text(text: str) -> str:
    # HELP lines escape only backslash and newline (quotes stay as they are).
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class MetricStore:
    """Newest value per (name, labels); renders the exposition text."""

    def __init__(self, keep):
        self.keep = keep
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._help: dict[str, str] = {}
        self._states: dict[str, str] = {}

    def on_event(self, event: Event) -> None:
        if event.kind == "state":
            with self._lock:
                self._states[event.stage] = str(event.data.get("state", "unknown"))
            return
        for key, raw in event.data.get("values", {}).items():
            if not self.keep(event.stage, key):
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                continue  # only numbers are gauges
            if key.startswith("queue/") and key.count("/") >= 2:
                queue, _, what = key[len("queue/") :].rpartition("/")
                name = metric_name("lcpipe_queue", what)
                labels: tuple[tuple[str, str], ...] = (("stage", event.stage), ("queue", queue))
            else:
                name = metric_name("lcpipe", event.stage, key)
                labels = (("stage", event.stage),)
            with self._lock:
                self._values.setdefault(name, {})[labels] = value
                self._help.setdefault(
                    name,
                    f"{event.stage}/{key}"
                    if not key.startswith("queue/")
                    else f"queue {key.rpartition('/')[2]} per edge",
                )

    def render(self) -> str:
        lines = []
        with self._lock:
            for name in sorted(self._values):
                lines.append(f"# HELP {name} lcpipe metric {help_text(self._help[name])}")
                lines.append(f"# TYPE {name} gauge")
                for labels, value in sorted(self._values[name].items()):
                    text = ",".join(f'{k}="{label_value(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{text}}} {format_value(value)}")
            if self._states:
                lines.append(
                    "# HELP lcpipe_stage_state Current state of each stage (1 for the state it is in)."
                )
                lines.append("# TYPE lcpipe_stage_state gauge")
                for stage, state in sorted(self._states.items()):
                    lines.append(
                        f'lcpipe_stage_state{{stage="{label_value(stage)}",state="{label_value(state)}"}} 1'
                    )
        return "".join(line + "\n" for line in lines)  # nothing yet: an empty exposition


def _handler(store: MetricStore):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served here")
                return
            body = store.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # scrapes every few seconds would flood the log
            pass

    return Handler


class PrometheusSink(Stage):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.store = MetricStore(metric_matcher(self.config["include"]))
        self.server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    def run(self) -> None:
        host, port = self.config["host"], int(self.config["port"])
        try:
            self.server = ThreadingHTTPServer((host, port), _handler(self.store))
        except OSError as exc:
            raise StageFailed(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                "choose another 'port' (0 picks a free one)"
            ) from None
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        serving = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="lcpipe-prometheus",
            daemon=True,
        )
        serving.start()
        self.ctx.info(f"serving metrics on http://{host}:{self.port}/metrics")
        sub = self.ctx.bus.subscribe(self.store.on_event, kinds={"metrics", "state"})
        try:
            while self.ctx.sleep(0.5):
                pass
        finally:
            sub.close()
            self.server.shutdown()
            self.server.server_close()
            serving.join(5.0)
