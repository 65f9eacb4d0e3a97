"""A progress line on stderr for a tool's longer steps: rewritten in place on a terminal,
one line every few seconds otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, stream=None, every_s: float = 5.0, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = 0.2 if self.tty else every_s
        self.enabled = enabled
        self._last = 0.0
        self._started = time.monotonic()
        self._open = False

    def update(self, done: int, total: int | None, what: str, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self.every_s):
            return
        self._last = now
        of = f"/{total}" if total else ""
        line = f"{what}: {done}{of}{'  ' + extra if extra else ''}  ({now - self._started:.0f} s)"
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self._open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
