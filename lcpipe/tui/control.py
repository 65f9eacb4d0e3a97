"""Runs a Runtime in a worker thread so the dashboard can own the main thread.

The terminal UI must run in the main thread (it owns the terminal and its
signals), so the pipeline moves to a thread here. Stopping goes through
``Runtime.request_stop``: the runtime's own ordered shutdown does the rest.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable

from lcpipe.exit_codes import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM
from lcpipe.runtime.runner import RunResult, Runtime


class PipelineThread:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._exit_code: int | None = None  # set by a signal: reported instead of 0
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._on_done: list[Callable[[RunResult | None], None]] = []

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def on_done(self, callback: Callable[[RunResult | None], None]) -> None:
        """Call ``callback(result)`` from the worker thread when the run ends."""
        self._on_done.append(callback)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="lcpipe-runtime", daemon=True)
            self._thread.start()

    def _main(self) -> None:
        try:
            # The runtime must not install signal handlers off the main thread.
            self.result = self.runtime.run(install_signals=False)
            if self._exit_code is not None and self.result.exit_code == EXIT_OK:
                self.result = dataclasses.replace(self.result, exit_code=self._exit_code)
        except BaseException as exc:  # re-raised in the main thread by wait()
            self.error = exc
        finally:
            self._done.set()
            for callback in self._on_done:
                try:
                    callback(self.result)
                except Exception:  # the app may already be gone
                    pass

    def stop(self, reason: str, exit_code: int | None = None) -> None:
        if exit_code is not None and self._exit_code is None:
            self._exit_code = exit_code
        self.runtime.request_stop(reason)

    def wait(self) -> RunResult:
        self.start()
        while not self._done.wait(0.2):  # a timed wait keeps Ctrl-C deliverable
            pass
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def install_signals(self) -> Callable[[], None]:
        """SIGINT/SIGTERM stop the pipeline cleanly (130/143). Returns the undo."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, _frame):
            code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
            self.stop(f"received {signal.Signals(signum).name}", code)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore
