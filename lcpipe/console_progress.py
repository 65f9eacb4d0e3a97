"""A progress line on stderr for tool commands that run longer than a few seconds.

On a terminal the line is redrawn in place (at most five times a second); in a
log (not a terminal) a full line is printed at most every ``log_every_s``
seconds, so CI logs show that work goes on without filling up. ``close``
always prints the final count.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else f"{seconds // 3600}h{seconds // 60 % 60:02d}"
    )


class Progress:
    """Counts done items of a known or unknown total and shows rate and time left."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "items",
        stream: TextIO | None = None,
        log_every_s: float = 10.0,
    ):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.note = ""
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._every = 0.2 if self._tty else log_every_s
        self._start = self._last = time.monotonic()
        self._closed = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1, note: str = "") -> None:
        """``n`` more items done; ``note`` (e.g. "12 skipped") is shown after the count."""
        self.done += n
        if note:
            self.note = note
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._show(final=False)

    def line(self) -> str:
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            bar_width = 24
            filled = int(bar_width * min(self.done, self.total) / self.total)
            text = f"{self.label} [{'#' * filled}{'.' * (bar_width - filled)}] {self.done}/{self.total} {self.unit}"
        else:
            text = f"{self.label}: {self.done} {self.unit}"
        text += f", {rate:.1f}/s, {_duration(elapsed)}"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {_duration((self.total - self.done) / rate)} left"
        if self.note:
            text += f" ({self.note})"
        return text

    def _show(self, final: bool) -> None:
        if self._tty:
            self.stream.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._show(final=True)
