"""Transports of the protocol: the daemon's stdin/stdout, and a Unix socket per run.

Both read request lines with a bounded reader (a line longer than
protocol.MAX_LINE_BYTES is answered with an error and skipped, never held
whole in memory) and hand them to one ``Controller``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lcpipe.daemon import protocol
from lcpipe.daemon.session import Client, Controller

SOCKET_NAME = "lcpipe.sock"
TOO_LONG = object()  # what read_lines yields for a line over the limit


def read_lines(
    read: Callable[[int], bytes], limit: int = protocol.MAX_LINE_BYTES
) -> Iterator[bytes | object]:
    """Lines from a byte stream (without their newline) until EOF; TOO_LONG for each over-long line."""
    buf = b""
    skipping = False
    while True:
        chunk = read(65536)
        if not chunk:
            if buf.strip() and not skipping:
                yield buf
            return
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line, buf = buf[:nl], buf[nl + 1 :]
            if skipping:
                skipping = False
            elif len(line) > limit:
                yield TOO_LONG
            elif line.strip():
                yield line
        if len(buf) > limit:
            if not skipping:
                yield TOO_LONG
            skipping, buf = True, b""


def serve_connection(controller: Controller, client: Client, read: Callable[[int], bytes]) -> None:
    """Hand every request line of one connection to the controller, until the peer closes it."""
    try:
        for line in read_lines(read):
            if line is TOO_LONG:
                client.send(
                    protocol.encode(
                        "error",
                        code="too_long",
                        message=f"request line longer than {protocol.MAX_LINE_BYTES} bytes",
                    )
                )
                continue
            controller.handle_line(client, line)  # type: ignore[arg-type]
            if controller.shutdown_requested.is_set():
                return
    except OSError:
        pass  # the peer went away


class SocketServer:
    """Serves the protocol on a Unix socket (mode 0600: the owner only) until closed."""

    def __init__(self, path: str | Path, controller: Controller):
        self.path = Path(path)
        self.controller = controller
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket file is created 0600, never briefly wider
        try:
            self._sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._sock.listen(16)
        self._closed = threading.Event()
        self._clients: list[Client] = []
        self._thread = threading.Thread(target=self._accept, name="socket-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        n = 0
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            n += 1
            threading.Thread(
                target=self._serve, args=(conn, n), name=f"socket-client-{n}", daemon=True
            ).start()

    def _serve(self, conn: socket.socket, n: int) -> None:
        client = Client(conn.sendall, f"socket{n}")
        self._clients.append(client)
        self.controller.connect(client)
        try:
            serve_connection(self.controller, client, conn.recv)
        finally:
            self.controller.disconnect(client)
            with contextlib.suppress(ValueError):
                self._clients.remove(client)
            with contextlib.suppress(OSError):
                conn.close()

    def close(self, flush_timeout: float = 5.0) -> None:
        """Stop accepting; each client first gets what is queued for it (a stop's ack, the last states)."""
        self._closed.set()
        for client in list(self._clients):
            client.close(flush_timeout)
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _remove_stale(path: Path) -> None:
    """Remove a socket file nobody listens on; refuse one a live process serves."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # left by a process that died
        return
    finally:
        probe.close()
    raise FileExistsError(f"{path}: another lcpipe process serves this run directory")


def serve_run(runtime, controller: Controller) -> SocketServer | None:
    """Serve ``runtime``'s control socket in its run directory; None (with a warning on stderr) when
    that is not possible: the run goes on without it."""
    from lcpipe.runtime.runlock import run_directory

    path = run_directory(runtime.pipeline) / SOCKET_NAME
    try:
        return SocketServer(path, controller)
    except (OSError, FileExistsError) as exc:
        print(f"lcpipe: no control socket for this run ({path}): {exc}", file=sys.stderr)
        return None


def connect(path: str | Path, timeout: float = 10.0) -> socket.socket:
    """A client connection to a run's socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    return sock


def serve_stdio(controller: Controller, stdin: BinaryIO | None = None) -> int:
    """The daemon: requests on stdin, messages on stdout, until shutdown (or stdin ends and the run is over).

    Everything else the process writes to its stdout (a stage's print, native
    code) is sent to stderr, so stdout carries protocol lines only.
    """
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    client = Client(out.write, "stdio")
    controller.connect(client)
    source = stdin or sys.stdin.buffer
    serve_connection(controller, client, source.read1 if hasattr(source, "read1") else source.read)
    if not controller.shutdown_requested.is_set():
        controller.wait()  # stdin ended: the run goes on without a controlling client until it ends
    else:
        controller.stop("shutdown requested by a client")
        controller.wait()
    code = controller.result.exit_code if controller.result is not None else 0
    client.send(protocol.encode("bye", exit_code=code))
    client.close()
    return code
