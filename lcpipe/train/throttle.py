"""Keeps the trainer from running ahead of self-play.

With ``max_steps_per_game`` set, step n (counted from the run's start) is
taken only once the batch source has delivered at least n / max_steps_per_game
games. Like KataGo's train/new-data ratio and lc0's chunks per network, this
stops a slow self-play from being outpaced by a trainer that would otherwise
cycle a few games many times over (and take the cores self-play needs).
"""

from __future__ import annotations

import math
import threading
import time


class ThrottleError(ValueError):
    """The batch source cannot tell how many games it delivered."""


class StepThrottle:
    def __init__(self, max_steps_per_game: float, stop: threading.Event, poll_s: float = 0.25):
        if max_steps_per_game <= 0:
            raise ValueError("max_steps_per_game must be > 0")
        self.ratio = float(max_steps_per_game)
        self._stop = stop
        self._poll_s = poll_s
        self.games = 0
        self.wait_s = 0.0
        self.waits = 0

    def games_needed(self, step: int) -> int:
        return math.ceil(step / self.ratio)

    def admit(self, step: int, batch, on_wait=None) -> bool:
        """Wait until ``step`` is within the ratio of the games ``batch``'s source delivered.

        Returns False if the pipeline stops first. ``on_wait(games, needed)`` is
        called once when a wait begins.
        """
        delivered = getattr(batch, "games_delivered", None)
        if delivered is None:
            raise ThrottleError("max_steps_per_game needs batches from a native loader segment with a "
                                "loader.chunk_pool (it counts the games it takes in); this source counts none. "
                                "Feed the trainer through loader.chunk_pool, or set max_steps_per_game: 0")
        needed = self.games_needed(step)
        self.games = delivered.games
        if self.games >= needed:
            return True
        if on_wait is not None:
            on_wait(self.games, needed)
        self.waits += 1
        start = time.monotonic()
        try:
            while self.games < needed:
                if self._stop.is_set():
                    return False
                self.games = delivered.wait_for(needed, self._poll_s)
            return True
        finally:
            self.wait_s += time.monotonic() - start

    def metrics(self, step: int) -> dict[str, float]:
        return {
            "train/games_delivered": float(self.games),
            "train/steps_per_game": step / self.games if self.games else 0.0,
            "train/throttle_wait_s": self.wait_s,
            "train/throttle_waits": float(self.waits),
        }
