"""The trainers of a multi-process run agree before every step (docs/scaling.md).

Each step is a collective over every process's devices: a process that stopped
alone (its data ended, Ctrl-C, a --stop-after bound only process 0 counts)
would leave the others waiting in the next step for ever. So before each step
the processes exchange one small value (what each wants: go on, or stop and
why) and all act on the most serious one; evaluation passes agree on how many
test batches every process has. A broken collective (a peer died) becomes a
``PeerLost`` naming the lost process.
"""

from __future__ import annotations

import numpy as np

GO_ON = 0
DATA_ENDED = 1  # like a single process whose data ended: a final network and checkpoint
STOPPED_BY_BOUND = 2  # --stop-after: no extra network
STOPPED = 3  # Ctrl-C, SIGTERM, a failed stage

WHY = {
    DATA_ENDED: "its data ended",
    STOPPED_BY_BOUND: "reached its --stop-after bound",
    STOPPED: "was stopped",
}


class PeerLost(RuntimeError):
    """A collective between the processes failed: a peer process is gone."""


class Lockstep:
    """One process's side of the agreement; inactive (every call trivial) in a single process."""

    def __init__(self) -> None:
        import jax

        self.index = jax.process_index()
        self.count = jax.process_count()

    @property
    def active(self) -> bool:
        return self.count > 1

    def agree(self, wish: int) -> tuple[int, int]:
        """(the most serious wish of all processes, the lowest process that has it)."""
        if not self.active:
            return wish, self.index
        wishes = self._gather(wish)
        worst = int(wishes.max())
        return worst, int(np.argmax(wishes == worst))

    def fewest(self, n: int) -> int:
        """The smallest ``n`` over the processes (e.g. test batches every process has)."""
        return int(self._gather(n).min()) if self.active else n

    def _gather(self, value: int) -> np.ndarray:
        from jax.experimental import multihost_utils

        try:
            return np.asarray(multihost_utils.process_allgather(np.asarray([value], np.int32))).reshape(-1)
        except Exception as exc:  # jaxlib raises its runtime errors as ValueError
            raise self.lost(exc) from exc

    def lost(self, exc: BaseException) -> PeerLost:
        """The error of a collective that broke, naming the lost process where it is unambiguous."""
        others = [i for i in range(self.count) if i != self.index]
        who = f"process {others[0]}" if len(others) == 1 else "a peer process (jax's log names it)"
        return PeerLost(
            f"lost training {who} of {self.count}: a collective between the processes failed "
            f"({str(exc).splitlines()[0][:300]}). Every process stops; start them all again to "
            "resume from the last checkpoint"
        )
