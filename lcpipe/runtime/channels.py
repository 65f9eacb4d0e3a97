"""Edges between stages: bounded stream queues and latest-value slots.

A stream channel is a bounded FIFO with back-pressure and an overflow policy;
it is closed once every writer has finished, after which readers drain what is
left and then see the end. A latest channel keeps only the newest value.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from typing import Any

_END = object()

OVERFLOW_POLICIES = ("block", "drop_newest", "keep_newest")


class ChannelClosed(Exception):
    """Raised by ``get`` when a stream channel is closed and empty."""


class StreamChannel:
    def __init__(self, name: str, capacity: int = 8, overflow: str = "block", writers: int = 1):
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}")
        self.name = name
        self.capacity = max(1, int(capacity))
        self.overflow = overflow
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self._open_writers = max(1, writers)
        self._aborted = False
        self._reader_gone = False
        self.put_count = 0
        self.dropped = 0

    # -- writer side -------------------------------------------------------
    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Add an item; blocks while full (policy "block"). False if aborted or the reader has finished
        (nobody will ever take it: the writer should stop producing)."""
        with self._cond:
            if self._reader_gone:
                return False
            while len(self._items) >= self.capacity and not self._aborted and not self._reader_gone:
                if self.overflow == "drop_newest":
                    self.dropped += 1
                    return True
                if self.overflow == "keep_newest":
                    self._items.popleft()
                    self.dropped += 1
                    break
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.1)
            if self._aborted or self._reader_gone:
                return False
            self._items.append(item)
            self.put_count += 1
            self._cond.notify_all()
            return True

    def writer_done(self) -> None:
        with self._cond:
            self._open_writers -= 1
            self._cond.notify_all()

    def reader_done(self) -> None:
        """The reading stage has finished: release writers blocked on a full queue, refuse new items."""
        with self._cond:
            self._reader_gone = True
            self._items.clear()
            self._cond.notify_all()

    def abort(self) -> None:
        """Wake everybody; readers see the end, writers see False."""
        with self._cond:
            self._aborted = True
            self._items.clear()
            self._cond.notify_all()

    # -- reader side -------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._aborted or self._open_writers <= 0

    @property
    def reader_gone(self) -> bool:
        """The reading stage has finished: nothing put now will be taken."""
        return self._reader_gone

    def get(self, timeout: float | None = None) -> Any:
        """Next item; raises ChannelClosed at the end, TimeoutError on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self.closed:
                    raise ChannelClosed(self.name)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(self.name)
                self._cond.wait(0.1 if remaining is None else min(0.1, remaining))
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                yield self.get()
            except ChannelClosed:
                return

    def __len__(self) -> int:
        return len(self._items)


class LatestChannel:
    """Holds only the newest value; writers never block."""

    def __init__(self, name: str, writers: int = 1):
        self.name = name
        self._value: Any = _END
        self._version = 0
        self._cond = threading.Condition()
        self._open_writers = max(1, writers)
        self._aborted = False
        self.put_count = 0
        self.dropped = 0
        self.capacity = 1

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        with self._cond:
            if self._aborted:
                return False
            self._value = item
            self._version += 1
            self.put_count += 1
            self._cond.notify_all()
            return True

    def writer_done(self) -> None:
        with self._cond:
            self._open_writers -= 1
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def reader_done(self) -> None:
        """Nothing to release: writers of a latest channel never block."""

    @property
    def closed(self) -> bool:
        return self._aborted or self._open_writers <= 0

    @property
    def version(self) -> int:
        return self._version

    def latest(self) -> Any:
        """The newest value, or None if nothing was written yet."""
        return None if self._value is _END else self._value

    def wait_newer(self, version: int, timeout: float | None = None) -> tuple[Any, int]:
        """Block until a value newer than ``version`` exists; (value, version).

        Returns (None, version) on timeout or when the channel closes.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._version <= version and not self.closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(0.1 if remaining is None else min(0.1, remaining))
            if self._version <= version:
                return None, version
            return self._value, self._version

    def __len__(self) -> int:
        return 0 if self._value is _END else 1
