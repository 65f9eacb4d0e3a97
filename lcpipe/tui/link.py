"""A pipeline running in another process, seen through the control protocol.

``RemoteRun`` has the interface the dashboard uses for an in-process run
(``PipelineThread``: done, result, error, on_done, start, stop, wait) plus
``detach``: leave the run going and close the connection. It reads messages
on its own thread and hands each to the model. The connection is a run's Unix
socket (``RemoteRun.attach``) or the pipes of a ``lcpipe daemon`` subprocess
(``RemoteRun.over_pipes``).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Callable

from lcpipe.daemon.server import connect, read_lines
from lcpipe.runtime.runner import RunResult

_REQUEST_IDS = itertools.count(1)


class RemoteRun:
    def __init__(
        self,
        read: Callable[[int], bytes],
        write: Callable[[bytes], None],
        close: Callable[[], None],
        on_message: Callable[[dict], None] | None = None,
    ):
        self._recv, self._write, self._close = read, write, close
        self._send_lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self._backlog: list[dict] = []  # messages that came before anyone took them
        self._on_message = on_message
        self.hello: dict | None = None
        self._hello = threading.Event()
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self.detached = False
        self._done = threading.Event()
        self._on_done: list[Callable[[RunResult | None], None]] = []
        self._seq = 0
        self._thread = threading.Thread(target=self._read, name="remote-run", daemon=True)
        self._thread.start()

    @classmethod
    def attach(cls, path, on_message=None, timeout: float = 10.0) -> RemoteRun:
        """Connect to the socket of a running pipeline."""
        sock = connect(path, timeout)
        sock.settimeout(None)

        def close() -> None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

        run = cls(sock.recv, sock.sendall, close, on_message)
        run.wait_hello(timeout, str(path))
        return run

    @classmethod
    def over_pipes(cls, proc, on_message=None, timeout: float = 30.0) -> RemoteRun:
        """Talk to a ``lcpipe daemon`` subprocess through its stdin/stdout."""

        def write(data: bytes) -> None:
            proc.stdin.write(data)
            proc.stdin.flush()

        def close() -> None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

        run = cls(proc.stdout.read1, write, close, on_message)
        run.wait_hello(timeout, "lcpipe daemon")
        return run

    def wait_hello(self, timeout: float, what: str) -> None:
        if not self._hello.wait(timeout):
            self.detach()
            raise TimeoutError(f"{what}: no hello within {timeout:g} s")

    @property
    def on_message(self) -> Callable[[dict], None] | None:
        return self._on_message

    @on_message.setter
    def on_message(self, callback: Callable[[dict], None] | None) -> None:
        """Set the receiver; it first gets every message that arrived before it (the hello, the replay)."""
        with self._deliver_lock:
            self._on_message = callback
            if callback is not None:
                backlog, self._backlog = self._backlog, []
                for msg in backlog:
                    callback(msg)

    def _deliver(self, msg: dict) -> None:
        with self._deliver_lock:
            if self._on_message is None:
                self._backlog.append(msg)
            else:
                self._on_message(msg)

    # -- the PipelineThread interface -------------------------------------------------------
    @property
    def started(self) -> bool:
        return True

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def on_done(self, callback: Callable[[RunResult | None], None]) -> None:
        self._on_done.append(callback)
        if self.done:
            callback(self.result)

    def start(self) -> None:
        """The run is already going (it lives in its own process)."""

    def stop(self, reason: str = "", exit_code: int | None = None) -> None:
        """Ask the run to stop in order (the dashboard's stop key, confirmed)."""
        self.send({"type": "stop", "reason": reason} if reason else {"type": "stop"})

    def wait(self) -> RunResult | None:
        self._done.wait()
        return self.result

    # -- remote only -------------------------------------------------------------------------
    def send(self, request: dict) -> int:
        """Send a request; returns the id it carries."""
        with self._send_lock:
            self._seq += 1
            request = {**request, "id": request.get("id", self._seq)}
            try:
                self._write((json.dumps(request) + "\n").encode())
            except (OSError, ValueError) as exc:
                self._finish(None, exc)
            return request["id"]

    def request(self, request: dict, timeout: float = 60.0) -> dict:
        """Send a request and wait for its ack or error."""
        answers: list[dict] = []
        got = threading.Event()
        previous = self.on_message
        request_id = request.get("id", f"req-{next(_REQUEST_IDS)}")
        request = {**request, "id": request_id}

        def watch(msg: dict) -> None:
            if previous is not None:
                previous(msg)
            else:
                self._backlog.append(msg)  # (under the delivery lock) kept for the receiver to come
            if msg.get("type") in ("ack", "error") and msg.get("id") == request_id:
                answers.append(msg)
                got.set()

        self.on_message = watch
        try:
            self.send(request)
            if not got.wait(timeout):
                raise TimeoutError(f"no answer to {request['type']!r} within {timeout:g} s")
            return answers[0]
        finally:
            self.on_message = previous

    def detach(self) -> None:
        """Close the connection; the run goes on."""
        self.detached = True
        self._close()

    def _read(self) -> None:
        try:
            for line in read_lines(self._recv):
                if not isinstance(line, bytes):
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("type") == "hello":
                    self.hello = msg
                    self._hello.set()
                self._deliver(msg)
                if msg.get("type") == "pipeline" and msg.get("event") == "finished":
                    self._finish(
                        RunResult(
                            int(msg.get("exit_code") or 0),
                            str(msg.get("reason", "")),
                            elapsed=float(msg.get("elapsed") or 0.0),
                        )
                    )
        except (OSError, ValueError) as exc:
            if not self.detached:
                self._finish(None, exc)
                return
        if not self.done and not self.detached:
            self._finish(None, ConnectionError("the run closed the connection"))

    def _finish(self, result: RunResult | None, error: BaseException | None = None) -> None:
        if self._done.is_set():
            return
        self.result, self.error = result, error
        self._done.set()
        for callback in self._on_done:
            try:
                callback(result)
            except Exception:  # the app may already be gone
                pass
