"""What a stage implementation sees at run time.

A stage class takes a ``StageContext`` and implements ``run()``. It reads its
inputs with ``ctx.input(port)`` and writes with ``ctx.output(port).put(x)``;
the runtime closes its outputs when ``run`` returns and stops the pipeline if
it raises. Long loops check ``ctx.stopping``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lcpipe.runtime.bus import EventBus
from lcpipe.runtime.channels import ChannelClosed, LatestChannel, StreamChannel


class StageFailed(Exception):
    """A stage asks for the pipeline to stop with a user-facing message."""


class PauseGate:
    """Open unless a stage is paused: its ports' get and put wait here meanwhile.

    Pausing a stage this way needs nothing from the stage itself; upstream
    queues fill and back-pressure pauses what feeds it.
    """

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def wait(self, stop: threading.Event) -> None:
        while not self._open.is_set() and not stop.is_set():
            self._open.wait(0.2)


_ALWAYS_OPEN = PauseGate()


class InputPort:
    """Reading side of an input port (one channel, possibly many writers)."""

    def __init__(
        self,
        name: str,
        channel: StreamChannel | LatestChannel | None,
        stop: threading.Event,
        gate: PauseGate = _ALWAYS_OPEN,
    ):
        self.name = name
        self.channel = channel
        self._stop = stop
        self._gate = gate
        self._seen_version = 0

    @property
    def connected(self) -> bool:
        return self.channel is not None

    def __iter__(self) -> Iterator[Any]:
        """Every item of a stream until upstream ends: after a stop, what is queued is drained
        (upstream stages stop first, so the stream ends; the runtime aborts it after the grace
        period). On a latest port, yields each newer value as it appears, until the stop.
        """
        if self.channel is None:
            return
        latest = isinstance(self.channel, LatestChannel)
        while not (latest and self._stop.is_set()):
            try:
                item = self.get(timeout=0.2)
            except TimeoutError:
                continue
            except ChannelClosed:
                return
            yield item

    def get(self, timeout: float | None = None) -> Any:
        """Next item (stream) or next newer value (latest).

        Raises ChannelClosed at the end of the stream, TimeoutError on timeout.
        """
        if self.channel is None:
            raise ChannelClosed(self.name)
        self._gate.wait(self._stop)
        if isinstance(self.channel, LatestChannel):
            value, version = self.channel.wait_newer(self._seen_version, timeout)
            if version == self._seen_version:
                if self.channel.closed:
                    raise ChannelClosed(self.name)
                raise TimeoutError(self.name)
            self._seen_version = version
            return value
        return self.channel.get(timeout)

    def latest(self) -> Any:
        """Newest value of a latest port without waiting (None if none yet)."""
        if self.channel is None:
            return None
        if isinstance(self.channel, LatestChannel):
            self._seen_version = self.channel.version
            return self.channel.latest()
        raise TypeError(f"port {self.name!r} is a stream; use get() or iterate")


class OutputPort:
    """Writing side of an output port: fans out to every connected edge."""

    def __init__(
        self,
        name: str,
        channels: list[StreamChannel | LatestChannel],
        stop: threading.Event,
        on_put=None,
        gate: PauseGate = _ALWAYS_OPEN,
    ):
        self.name = name
        self.channels = channels
        self._stop = stop
        self._gate = gate
        self._on_put = on_put
        self.count = 0
        self._closed = False
        self._close_lock = threading.Lock()

    def close(self) -> None:
        """This port writes no more: its streams end once their other writers are done too. The
        runtime closes every port when the stage returns; a stage closes one early when that output
        ends before the others (the train branch of a loader segment whose test branch goes on)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        for channel in self.channels:
            channel.writer_done()

    @property
    def connected(self) -> bool:
        return bool(self.channels)

    def put(self, item: Any) -> bool:
        """Send an item downstream. Returns False when the pipeline is stopping."""
        self._gate.wait(self._stop)
        if self._stop.is_set():
            return False
        ok = True
        for channel in self.channels:
            ok = channel.put(item, self._stop) and ok
        self.count += 1
        if self._on_put is not None:
            self._on_put(self.name, item)
        return ok and not self._stop.is_set()

    def put_final(self, item: Any) -> bool:
        """The last item of a stage that was asked to stop (e.g. the network trained since the last
        one): delivered unless the run gave up waiting (its channels aborted after the grace period).
        Consumers drain their stream inputs after a stop, so it is not lost in the queue."""
        ok = True
        for channel in self.channels:
            ok = channel.put(item) and ok
        self.count += 1
        if self._on_put is not None:
            self._on_put(self.name, item)
        return ok


class StageContext:
    """Everything a running stage may use: settings, ports, bus, stop flag."""

    def __init__(
        self,
        name: str,
        stage_type: str,
        config: dict[str, Any],
        inputs: dict[str, InputPort],
        outputs: dict[str, OutputPort],
        bus: EventBus,
        stop: threading.Event,
        workdir: Path,
        pipeline: str = "",
        bound: threading.Event | None = None,
    ):
        self.name = name
        self.stage_type = stage_type
        self.config = config
        self._inputs = inputs
        self._outputs = outputs
        self.bus = bus
        self._bound = bound or threading.Event()
        self.stop_event = stop
        self.workdir = workdir
        self.pipeline = pipeline
        self.log = logging.getLogger(f"lcpipe.stage.{name}")
        self._last_metrics = 0.0
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()

    def take_commands(self) -> list[str]:
        """Commands sent to this stage since the last call (names its StageType.commands declares)."""
        out = []
        while True:
            try:
                out.append(self._commands.get_nowait())
            except queue.Empty:
                return out

    def send_command(self, name: str) -> None:
        """Queue a command for the stage (the runtime calls this for a client's request)."""
        self._commands.put(name)

    @property
    def stopped_by_bound(self) -> bool:
        """Stopped because a --stop-after bound this stage feeds was reached: it should produce nothing more."""
        return self._bound.is_set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def input(self, port: str) -> InputPort:
        return self._inputs[port]

    def output(self, port: str) -> OutputPort:
        return self._outputs[port]

    def output_ports(self) -> list[OutputPort]:
        return list(self._outputs.values())

    def has_input(self, port: str) -> bool:
        return port in self._inputs and self._inputs[port].connected

    def has_output(self, port: str) -> bool:
        return port in self._outputs and self._outputs[port].connected

    def metrics(self, values: dict[str, float], step: int | None = None) -> None:
        """Publish metrics on the bus (sinks pick them up)."""
        self.bus.publish("metrics", self.name, {"values": dict(values), "step": step})

    def progress(
        self,
        step: int,
        total_steps: int | None = None,
        next_network: int | None = None,
        steps_per_s: float | None = None,
        loss: float | None = None,
    ) -> None:
        """A trainer's progress at a step (the console's progress line, the daemon's progress messages)."""
        self.bus.publish(
            "progress",
            self.name,
            {
                "step": int(step),
                "total_steps": total_steps,
                "next_network": next_network,
                "steps_per_s": steps_per_s,
                "loss": loss,
            },
        )

    def state(self, state: str, detail: str = "") -> None:
        self.bus.publish("state", self.name, {"state": state, "detail": detail})

    def info(self, message: str) -> None:
        self.log.info(message)
        self.bus.publish("log", self.name, {"level": "info", "message": message})

    def warning(self, message: str) -> None:
        self.log.warning(message)
        self.bus.publish("log", self.name, {"level": "warning", "message": message})

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the pipeline stops first; True if still running."""
        return not self.stop_event.wait(seconds)

    def every(self, seconds: float) -> bool:
        """True at most once per ``seconds`` (for periodic metrics)."""
        now = time.monotonic()
        if now - self._last_metrics >= seconds:
            self._last_metrics = now
            return True
        return False


class Stage:
    """Base class of stage implementations (optional; duck typing works)."""

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        self.config = ctx.config

    def run(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
