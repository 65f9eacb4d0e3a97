"""Keeps the trainer from running ahead of self-play.

With ``max_steps_per_game`` set, step n (counted from the run's start) is
taken only once the batch source has delivered at least n / max_steps_per_game
games. Like KataGo's train/new-data ratio and lc0's chunks per network, this
stops a slow self-play from being outpaced by a trainer that would otherwise
cycle a few games many times over (and take the cores self-play needs).

A client's ``train_now`` grants steps ahead of the games (``grant_until``):
those steps are taken at once, and every later step still waits for its own
games, counted on from there.
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
        self.granted = 0  # steps train_now let through ahead of the games

    def games_needed(self, step: int) -> int:
        return math.ceil(max(0, step - self.granted) / self.ratio)

    def grant_until(self, step: int) -> int:
        """Let every step up to ``step`` through with the games delivered so far; the steps granted."""
        allowed = self.granted + math.floor(self.games * self.ratio)
        if step > allowed:
            self.granted += step - allowed
            return step - allowed
        return 0

    def admit(self, step: int, batch, on_wait=None, on_poll=None) -> bool:
        """Wait until ``step`` is within the ratio of the games ``batch``'s source delivered.

        Returns False if the pipeline stops first. ``on_wait(games, needed)`` is
        called once when a wait begins; ``on_poll()`` every poll while waiting
        (where commands such as train_now are taken).
        """
        delivered = getattr(batch, "games_delivered", None)
        if delivered is None:
            raise ThrottleError(
                "max_steps_per_game needs batches from a native loader segment with a "
                "loader.chunk_pool (it counts the games it takes in); this source counts none. "
                "Feed the trainer through loader.chunk_pool, or set max_steps_per_game: 0"
            )
        self.games = delivered.games
        if self.games >= self.games_needed(step):
            return True
        if on_wait is not None:
            on_wait(self.games, self.games_needed(step))
        self.waits += 1
        start = time.monotonic()
        try:
            while self.games < self.games_needed(step):
                if self._stop.is_set():
                    return False
                if on_poll is not None:
                    on_poll()
                self.games = delivered.wait_for(self.games_needed(step), self._poll_s)
            return True
        finally:
            self.wait_s += time.monotonic() - start

    def metrics(self, step: int) -> dict[str, float]:
        return {
            "train/games_delivered": float(self.games),
            "train/steps_per_game": step / self.games if self.games else 0.0,
            "train/throttle_wait_s": self.wait_s,
            "train/throttle_waits": float(self.waits),
            "train/throttle_granted_steps": float(self.granted),
        }
