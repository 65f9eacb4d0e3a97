"""The trainer's weight stream: what train.jax's ``steps`` output carries to its consumers (the
train.swa / train.ema stages), and the trainer's side of it.

Everything on the stream stays on the device: weights are device copies (the train step donates
its own buffers to the next step, so a consumer could not hold those), batches are the device
batches the step trained on. The messages, in the order a consumer sees them:

- ``StreamOpen``: the model and how to place arrays; each consumer answers how often it wants the
  weights (its ``every``), so the trainer copies them only on the steps some consumer uses.
- ``Restore``: where training starts (a fresh run, a resume, a spike-guard rollback): the weights
  and each consumer's saved state by stage name (none on a fresh start); each consumer answers
  once its state is placed.
- ``TrainedStep``: one step's device batch, and its weights when a consumer asked for that step.
- ``StateRequest``: a barrier at a checkpoint; each consumer answers its state, which the trainer
  saves beside its own in the same checkpoint, so a resume restores both at one step.
- ``NetworkDue``: the trainer emitted a network of this step; each consumer emits its own.

No jax import at module level: the stage declarations import the port type only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

# How long the trainer waits for its consumers' answers before it gives up with an error
# (a consumer that died is seen sooner: its stream refuses items).
ANSWER_TIMEOUT_S = 600.0


class StreamError(RuntimeError):
    """A consumer of the weight stream did not answer."""


class Answers:
    """The consumers' answers to one request, by stage name; the trainer waits for all of them."""

    def __init__(self, expected: int):
        self.expected = expected
        self._got: dict[str, Any] = {}
        self._cond = threading.Condition()

    def answer(self, name: str, value: Any) -> None:
        with self._cond:
            self._got[name] = value
            self._cond.notify_all()

    def wait(self, alive, timeout: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
        """Every answer; ``alive()`` False (a consumer gone) or the timeout raise StreamError."""
        waited = 0.0
        with self._cond:
            while len(self._got) < self.expected:
                if not alive():
                    raise StreamError("a consumer of the weight stream stopped before it answered")
                if waited >= timeout:
                    raise StreamError(f"no answer from the weight stream's consumers in {timeout:.0f} s")
                self._cond.wait(0.1)
                waited += 0.1
            return dict(self._got)


@dataclass(frozen=True)
class StreamOpen:
    model: dict
    precision: str
    input_format: int
    sharding: Any  # where a consumer places restored arrays (the trainer's replicated sharding)
    answers: Answers  # each consumer answers its ``every``


@dataclass(frozen=True)
class Restore:
    step: int
    params: Any  # device copy of the weights training starts from
    batch_stats: Any  # the raw model's running statistics (a base for recomputing them)
    answers: Answers  # each consumer answers once its state is placed on the devices
    states: dict[str, Any] = field(default_factory=dict)  # saved consumer states by stage name


@dataclass(frozen=True)
class TrainedStep:
    step: int  # the step count after this step
    batch: dict  # the device batch it trained on
    params: Any = None  # device copy of the weights after it, when a consumer asked for this step
    batch_stats: Any = None  # with them: the raw model's running statistics


@dataclass(frozen=True)
class StateRequest:
    step: int
    answers: Answers  # each consumer answers its state (a pytree of device arrays)


@dataclass(frozen=True)
class NetworkDue:
    step: int
    final: bool = False  # the last item of a stopping run


class WeightStream:
    """The trainer's side: sends the messages on the ``steps`` output and collects answers."""

    def __init__(self, port):
        self.port = port
        self.every: list[int] = []

    @property
    def consumers(self) -> int:
        return len(self.port.channels)

    def _alive(self) -> bool:
        return all(not ch.closed and not getattr(ch, "reader_gone", False) for ch in self.port.channels)

    def _ask(self, message, answers: Answers) -> dict[str, Any]:
        if not self.port.put_final(message):
            raise StreamError("the weight stream's consumers stopped")
        return answers.wait(self._alive)

    def open(self, trainer) -> None:
        answers = Answers(self.consumers)
        message = StreamOpen(
            dict(trainer.model_config),
            trainer.settings["precision"],
            int(trainer.settings["input_format"]),
            trainer.replicated,
            answers,
        )
        self.every = sorted({int(v) for v in self._ask(message, answers).values()})

    def restore(self, trainer, states: dict[str, Any]) -> None:
        """Training (re)starts at the trainer's current step; consumers take their saved state. A
        barrier, like a checkpoint's: placing a state may run programs over the trainer's devices
        (across processes too), which must not run beside the trainer's own."""
        weights = trainer.weights_copy()
        answers = Answers(self.consumers)
        message = Restore(
            trainer.step_count, weights["params"], weights["batch_stats"], answers, dict(states)
        )
        self._ask(message, answers)

    def step(self, trainer, step: int) -> bool:
        """After a trained step: its batch, with a copy of the weights when a consumer wants them.
        Delivered after a stop too (consumers drain their input): the checkpoint the trainer writes
        on stopping holds this step, so the averages must have it. False: the consumers are gone."""
        if not any(step % every == 0 for every in self.every):
            return self.port.put_final(TrainedStep(step, trainer.last_batch))
        weights = trainer.weights_copy()
        message = TrainedStep(step, trainer.last_batch, weights["params"], weights["batch_stats"])
        return self.port.put_final(message)

    def states(self, step: int) -> dict[str, Any]:
        """The barrier of a checkpoint: every consumer's state after ``step``."""
        answers = Answers(self.consumers)
        return self._ask(StateRequest(step, answers), answers)

    def network(self, step: int, final: bool = False) -> bool:
        message = NetworkDue(step, final)
        return self.port.put_final(message) if final else self.port.put(message)
