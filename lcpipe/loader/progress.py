"""How many games a batch source has taken in, readable while it runs.

A loader segment attaches one ``GamesDelivered`` to every batch of an output
fed by a ``loader.chunk_pool``: the count of distinct games those pools have
received since the start (games already on disk included). The trainer's
``max_steps_per_game`` throttle waits on it when it is ahead of self-play.
"""

from __future__ import annotations

import threading


class GamesDelivered:
    """A monotonic, thread-safe count of games with a wait for a minimum."""

    def __init__(self, games: int = 0):
        self._cond = threading.Condition()
        self._games = int(games)
        self._waiting = 0

    @property
    def games(self) -> int:
        with self._cond:
            return self._games

    @property
    def waiting(self) -> int:
        """Threads now blocked in wait_for (a consumer held back by the count)."""
        with self._cond:
            return self._waiting

    def advance(self, games: int) -> None:
        """Raise the count to ``games`` (a smaller value is ignored) and wake waiters."""
        with self._cond:
            if games > self._games:
                self._games = int(games)
                self._cond.notify_all()

    def wait_for(self, games: int, timeout: float) -> int:
        """Wait until at least ``games`` were delivered or ``timeout`` passed; returns the count."""
        with self._cond:
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: self._games >= games, timeout)
            finally:
                self._waiting -= 1
            return self._games
