"""One pipeline run under remote control, and the clients watching it.

``Controller`` carries out requests (start, stop, status, train_now, ...)
against at most one ``Runtime`` and turns the run's bus events into protocol
messages for every connected ``Client``. The stdin/stdout daemon and the Unix
socket of a running ``lcpipe run`` both use it; only the daemon may start a
pipeline itself.
"""

from __future__ import annotations

import collections
import fnmatch
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from lcpipe import __version__
from lcpipe.daemon import protocol
from lcpipe.daemon.protocol import ProtocolError


class Client:
    """A connection: messages queue here and a writer thread sends them.

    A slow or vanished client never holds up the run: its queue is bounded
    and drops its oldest messages (counted), and a write error only closes
    this client.
    """

    def __init__(self, write: Callable[[bytes], object], name: str, capacity: int = 10000):
        self.name = name
        self._write = write
        self._queue: collections.deque[bytes] = collections.deque(maxlen=capacity)
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.kinds: set[str] | None = None  # None: every kind
        self.metric_patterns: list[str] = []
        self._thread = threading.Thread(target=self._drain, name=f"client-{name}", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def wants(self, kind: str) -> bool:
        return kind not in STREAMED or self.kinds is None or kind in self.kinds

    def send(self, line: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(line)
            self._cond.notify()

    def close(self, flush_timeout: float = 5.0) -> None:
        """Stop after sending what is queued (up to ``flush_timeout`` seconds)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(flush_timeout)

    def _drain(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                line = self._queue.popleft()
            try:
                self._write(line)
            except (OSError, ValueError):  # the peer went away: this client ends, the run does not
                with self._cond:
                    self._closed = True
                    self._queue.clear()
                return


# Message kinds a client can choose with `subscribe` (the others always reach it).
STREAMED = ("state", "metrics", "progress", "network", "gate", "log", "pipeline")


class Controller:
    """Requests -> actions on the run; run events -> messages to clients."""

    def __init__(self, can_start: bool, on_shutdown: Callable[[], None] | None = None):
        self.can_start = can_start
        self.on_shutdown = on_shutdown
        self.runtime = None
        self.result = None
        self._thread: threading.Thread | None = None
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._stages: dict[str, dict[str, str]] = {}
        self._started = 0.0
        self._stopping = False
        self._started_event: dict | None = None
        self.shutdown_requested = threading.Event()

    # -- clients ---------------------------------------------------------------------
    def connect(self, client: Client) -> None:
        with self._lock:
            self._clients.append(client)
        from lcpipe.compiler.plan import describe_plan

        rt = self.runtime
        client.send(
            protocol.encode(
                "hello",
                protocol=protocol.PROTOCOL_VERSION,
                lcpipe=__version__,
                pid=os.getpid(),
                pipeline=rt.pipeline.name if rt is not None else None,
                plan=describe_plan(rt.plan) if rt is not None else None,
            )
        )
        # A client arriving late first sees where the run stands: its start, each stage's state
        # and newest metrics (then the stream continues).
        if self._started_event is not None:
            client.send(protocol.encode("pipeline", **self._started_event))
        for stage, st in list(self._stages.items()):
            client.send(protocol.encode("state", stage=stage, state=st["state"], detail=st["detail"]))
        if rt is not None:
            for stage, values in list(rt.bus.latest_metrics.items()):
                client.send(protocol.encode("metrics", stage=stage, step=None, values=dict(values)))

    def disconnect(self, client: Client) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        client.close(flush_timeout=1.0)

    def broadcast(self, kind: str, /, **fields: Any) -> None:
        line = protocol.encode(kind, **fields)
        with self._lock:
            clients = [c for c in self._clients if not c.closed]
        for c in clients:
            if c.wants(kind):
                c.send(line)

    # -- the run -----------------------------------------------------------------------
    def attach(self, runtime) -> None:
        """Watch (and control) a runtime someone else runs (``lcpipe run``'s socket)."""
        self.runtime = runtime
        self._started = time.monotonic()
        runtime.bus.subscribe(self._on_event, replay=True)

    def _on_event(self, event) -> None:
        data = event.data
        if event.kind == "state":
            self._stages[event.stage] = {"state": data.get("state", ""), "detail": data.get("detail", "")}
            self.broadcast(
                "state", stage=event.stage, state=data.get("state", ""), detail=data.get("detail", "")
            )
        elif event.kind == "metrics":
            values = data.get("values", {})
            with self._lock:
                clients = [c for c in self._clients if not c.closed and c.wants("metrics")]
            for c in clients:
                chosen = (
                    values
                    if not c.metric_patterns
                    else {
                        k: v
                        for k, v in values.items()
                        if any(fnmatch.fnmatchcase(k, p) for p in c.metric_patterns)
                    }
                )
                if chosen:
                    c.send(
                        protocol.encode("metrics", stage=event.stage, step=data.get("step"), values=chosen)
                    )
            gate = {k: v for k, v in values.items() if k.startswith("gate/")}
            if gate:
                self.broadcast("gate", stage=event.stage, values=gate)
        elif event.kind == "progress":
            self.broadcast(
                "progress", stage=event.stage, **_known(data, protocol.MESSAGES["progress"].fields)
            )
        elif event.kind == "network":
            self.broadcast("network", stage=event.stage, **_known(data, protocol.MESSAGES["network"].fields))
        elif event.kind == "log":
            self.broadcast(
                "log", stage=event.stage, level=data.get("level", ""), message=data.get("message", "")
            )
        elif event.kind == "pipeline":
            fields = _known(data, protocol.MESSAGES["pipeline"].fields)
            if data.get("event") == "started":
                self._started_event = fields
            self.broadcast("pipeline", **fields)

    def _start(self, request: dict) -> dict:
        from lcpipe.compiler import compile_file, plan_pipeline
        from lcpipe.runtime.runner import Runtime, StopBound, check_stop_bounds
        from lcpipe.spec.errors import SpecErrors

        if not self.can_start:
            raise ProtocolError("state", "this run was started by `lcpipe run`; it cannot start another")
        if self.runtime is not None and self._thread is not None and self._thread.is_alive():
            raise ProtocolError("state", f"pipeline {self.runtime.pipeline.name!r} is running; stop it first")
        try:
            bounds = [StopBound.parse(s) for s in request.get("stop_after", [])]
        except ValueError as exc:
            raise ProtocolError("bad_request", str(exc)) from None
        try:
            plan = plan_pipeline(compile_file(request["spec"], list(request.get("set", []))))
        except SpecErrors as exc:
            raise SpecRequestError(exc) from None
        except OSError as exc:
            raise ProtocolError("spec", f"cannot read {request['spec']}: {exc.strerror or exc}") from None
        try:
            check_stop_bounds(plan.pipeline, bounds)  # before the lock: a bound nothing counts never stops
        except ValueError as exc:
            raise ProtocolError("bad_request", str(exc)) from None
        from lcpipe.runtime.runlock import RunLock, RunLocked, clean_interrupted_writes, state_directories

        directories = state_directories(plan.pipeline)
        try:  # one writer per run directory, as for lcpipe run
            lock = RunLock(directories).acquire()
        except (RunLocked, OSError) as exc:
            raise ProtocolError("state", str(exc)) from None
        clean_interrupted_writes(directories)
        runtime = Runtime(plan, stop_after=bounds, grace=float(request.get("grace", 60.0)))
        self._stages = {}
        self._started_event = None
        self.result = None
        self._stopping = False
        self.attach(runtime)
        self._thread = threading.Thread(target=self._run, args=(runtime, lock), name="pipeline", daemon=True)
        self._thread.start()
        return {"pipeline": plan.pipeline.name, "stages": [s.name for s in plan.segments]}

    def _run(self, runtime, lock) -> None:
        from lcpipe.daemon.server import serve_run

        server = serve_run(runtime, self)  # lcpipe attach / status reach a daemon's run the same way
        try:
            self.result = runtime.run(install_signals=False)
        finally:
            if server is not None:
                server.close()
            lock.release()

    def running(self) -> bool:
        if self.runtime is None:
            return False
        return self._thread is None or self._thread.is_alive()

    def status(self) -> dict:
        rt = self.runtime
        if rt is None:
            return {
                "pipeline": None,
                "state": "idle",
                "stages": {},
                "paused": [],
                "counts": {},
                "elapsed": 0.0,
                "exit_code": None,
                "metrics": {},
            }
        finished = self.result is not None
        state = "finished" if finished else "stopping" if self._stopping else "running"
        return {
            "pipeline": rt.pipeline.name,
            "state": state,
            "stages": dict(self._stages),
            "paused": rt.paused(),
            "counts": rt.counts(),
            "elapsed": time.monotonic() - self._started,
            "exit_code": self.result.exit_code if finished else None,
            "metrics": {k: dict(v) for k, v in rt.bus.latest_metrics.items()},
        }

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a pipeline this controller started; True when none is running."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def stop(self, reason: str) -> None:
        if self.runtime is not None and self.result is None:
            self._stopping = True
            self.runtime.request_stop(reason)

    # -- requests ------------------------------------------------------------------------
    def handle_line(self, client: Client, line: bytes) -> None:
        """Parse and carry out one request line; any problem becomes an error message to this client."""
        request: dict | None = None
        try:
            request = protocol.parse_request(line)
            then: list[Callable[[], None]] = []
            detail = self.handle(client, request, then)
            client.send(
                protocol.encode("ack", id=request.get("id"), request=request["type"], detail=detail or {})
            )
            for action in then:  # a stop acts after its ack is queued: the ack goes out before the run ends
                action()
        except SpecRequestError as exc:
            client.send(
                protocol.encode(
                    "error",
                    id=_id(request),
                    request="start",
                    code="spec",
                    message=f"the spec has {len(exc.errors)} error(s)",
                    errors=exc.errors,
                )
            )
        except ProtocolError as exc:
            client.send(
                protocol.encode(
                    "error",
                    id=exc.request_id if exc.request_id is not None else _id(request),
                    request=exc.request or (request or {}).get("type"),
                    code=exc.code,
                    message=str(exc),
                )
            )

    def handle(self, client: Client, request: dict, then: list[Callable[[], None]]) -> dict | None:
        """Carry out ``request``; actions that may end the run go to ``then``, run after the ack."""
        kind = request["type"]
        if kind == "start":
            return self._start(request)
        if kind == "status":
            client.send(protocol.encode("status", id=request.get("id"), **self.status()))
            return None
        if kind == "subscribe":
            client.kinds = set(request["kinds"]) if "kinds" in request else None
            client.metric_patterns = list(request.get("metrics", []))
            return {
                "kinds": sorted(client.kinds) if client.kinds is not None else list(STREAMED),
                "metrics": client.metric_patterns,
            }
        if kind == "shutdown":
            then.append(self._shut_down)
            return None
        rt = self._require_run(kind)
        if kind == "stop":
            then.append(lambda: self.stop(request.get("reason") or "stop requested by a client"))
            return None
        stage = request.get("stage")
        try:
            if kind == "pause":
                rt.pause(stage)
                return {"stage": stage}
            if kind == "resume":
                rt.resume(stage)
                return {"stage": stage}
            return {"stages": rt.command(kind, stage)}  # train_now, export_now
        except KeyError:
            known = ", ".join(rt.pipeline.graph.nodes)
            raise ProtocolError(
                "unknown_stage",
                f"no stage {stage!r} in this pipeline (stages: {known})",
                kind,
                request.get("id"),
            ) from None
        except ValueError as exc:
            raise ProtocolError("state", str(exc), kind, request.get("id")) from None

    def _shut_down(self) -> None:
        self.stop("shutdown requested by a client")
        self.shutdown_requested.set()
        if self.on_shutdown is not None:
            self.on_shutdown()

    def close_clients(self, flush_timeout: float = 5.0) -> None:
        """Send every client what is queued for it (the process is about to end)."""
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            c.close(flush_timeout)

    def _require_run(self, kind: str):
        if self.runtime is None or self.result is not None:
            raise ProtocolError("state", f"{kind}: no pipeline is running", kind)
        return self.runtime


class SpecRequestError(Exception):
    """A start request named a spec with errors; carries them with their places."""

    def __init__(self, exc) -> None:
        super().__init__(str(exc))
        self.errors = [_spec_error(e) for e in exc.errors]


def _spec_error(e) -> dict:
    from lcpipe.spec.errors import format_path

    out: dict[str, Any] = {"message": e.message}
    if e.mark is not None:
        out.update(file=str(e.mark.file), line=e.mark.line, column=e.mark.column)
    if e.hint:
        out["hint"] = e.hint
    if e.path:
        out["path"] = format_path(e.path)
    return out


def _id(request: dict | None) -> Any:
    if request and isinstance(request.get("id"), (str, int)):
        return request["id"]
    return None


def _known(data: dict, fields: dict) -> dict:
    return {k: v for k, v in data.items() if k in fields and k != "stage"}
