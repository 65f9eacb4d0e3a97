"""One event bus for every stage's metrics, state changes and log lines.

Publishing never blocks a stage: each subscriber has its own bounded queue
drained by its own thread; a slow subscriber loses its oldest events and the
loss is counted, training never waits for a sink. The bus remembers recent
events so a subscriber that starts late (a sink whose thread starts after a
fast stage) can replay them.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    kind: str  # "metrics" | "state" | "log" | "pipeline"
    stage: str
    data: dict[str, Any]
    time: float = field(default_factory=time.time)


class Subscription:
    def __init__(self, callback: Callable[[Event], None], kinds: set[str] | None, capacity: int):
        self.callback = callback
        self.kinds = kinds
        self.queue: collections.deque[Event] = collections.deque(maxlen=capacity)
        self.lost = 0
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._drain, name="lcpipe-bus", daemon=True)
        self.thread.start()

    def offer(self, event: Event) -> None:
        if self.kinds is not None and event.kind not in self.kinds:
            return
        with self.cond:
            if len(self.queue) == self.queue.maxlen:
                self.lost += 1
            self.queue.append(event)
            self.cond.notify()

    def _drain(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait(0.2)
                if not self.queue and self.closed:
                    return
                event = self.queue.popleft()
            try:
                self.callback(event)
            except Exception:  # a broken subscriber must not stop the others
                pass

    def close(self, timeout: float = 5.0) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join(timeout)


class EventBus:
    def __init__(self, history: int = 20000) -> None:
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self.latest_metrics: dict[str, dict[str, Any]] = {}

    def subscribe(
        self,
        callback: Callable[[Event], None],
        kinds: set[str] | None = None,
        capacity: int = 10000,
        replay: bool = True,
    ) -> Subscription:
        """Call ``callback`` for each event (of ``kinds``), in its own thread.

        With ``replay``, first for the remembered past events.
        """
        sub = Subscription(callback, kinds, capacity)
        with self._lock:
            if replay:
                for event in self._history:
                    sub.offer(event)
            self._subs.append(sub)
        return sub

    def events(self, kind: str) -> list[Event]:
        """The remembered events of ``kind``, oldest first."""
        with self._lock:
            return [e for e in self._history if e.kind == kind]

    def publish(self, kind: str, stage: str, data: dict[str, Any]) -> None:
        event = Event(kind, stage, data)
        if kind == "metrics":
            self.latest_metrics.setdefault(stage, {}).update(data.get("values", {}))
        with self._lock:
            self._history.append(event)
            subs = list(self._subs)
        for sub in subs:
            sub.offer(event)

    def close(self) -> None:
        with self._lock:
            subs, self._subs = self._subs, []
        for sub in subs:
            sub.close()
