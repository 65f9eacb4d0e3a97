"""The head's view of the actors: start them, hand out blocks of game ids, collect games, replace the dead.

Game ids are handed out once: a block (task) given to an actor is never
given again, so an actor that dies takes its unfinished games with it
(dropped) and no id can be written twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError


@dataclass
class Task:
    """A block of game ids one actor plays: first .. first+count-1."""

    first: int
    count: int
    network_step: int
    stream: Any  # the ObjectRefGenerator of the actor's play()
    arrived: int = 0


@dataclass
class Member:
    """One actor: starting (ready pending), idle, or busy with a task."""

    handle: Any
    ready_ref: Any | None
    started_at: float
    node: str = ""
    pid: int = 0
    task: Task | None = None


@dataclass
class Event:
    """What ``Fleet.poll`` saw: kind is 'game', 'task_done', 'task_failed', 'actor_died' or 'actor_ready'."""

    kind: str
    member: Member
    game: Any = None
    task: Task | None = None
    error: str = ""


@dataclass
class Fleet:
    """The actors of one stage. ``actor_class`` is the ``ray.remote`` class with its options."""

    actor_class: Any
    actor_args: tuple
    start_timeout: float
    members: list[Member] = field(default_factory=list)
    failures: int = 0

    def resize(self, target: int) -> None:
        """Start actors up to ``target``; above it, retire starting then idle ones (busy ones finish first)."""
        while len(self.members) < target:
            handle = self.actor_class.remote(*self.actor_args)
            self.members.append(Member(handle, handle.ready.remote(), time.monotonic()))
        excess = len(self.members) - target
        for member in sorted(self.members, key=lambda m: (m.ready_ref is None, m.task is not None)):
            if excess <= 0 or member.task is not None:
                break
            self._remove(member)
            excess -= 1

    def idle(self) -> list[Member]:
        return [m for m in self.members if m.ready_ref is None and m.task is None]

    def busy(self) -> list[Member]:
        return [m for m in self.members if m.task is not None]

    def pending(self) -> bool:
        """Is any actor starting or playing (something ``poll`` can wait on)?"""
        return any(m.ready_ref is not None or m.task is not None for m in self.members)

    def outstanding(self) -> int:
        """Game ids handed out whose games have not arrived (an upper bound: a task may yield fewer)."""
        return sum(m.task.count - m.task.arrived for m in self.busy() if m.task)

    def start_task(self, member: Member, first: int, count: int, network: list, step: int, write_to) -> None:
        stream = member.handle.play.remote(first, count, network, write_to)
        member.task = Task(first, count, step, stream)

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for something to happen; what did."""
        waiting = {}
        for m in self.members:
            if m.ready_ref is not None:
                waiting[m.ready_ref] = m
            elif m.task is not None:
                waiting[m.task.stream] = m
        events = self._expire_starts()
        if not waiting:
            return events
        ready, _ = ray.wait(list(waiting), num_returns=1, timeout=timeout)
        for item in ready:
            member = waiting[item]
            events.append(self._ready(member) if member.ready_ref is not None else self._next_game(member))
        return events

    def shutdown(self) -> None:
        for member in list(self.members):
            self._remove(member)

    # -- internals --------------------------------------------------------------------
    def _ready(self, member: Member) -> Event:
        ref: Any = member.ready_ref
        try:
            member.node, member.pid = ray.get(ref, timeout=0)
        except (RayError, GetTimeoutError) as exc:
            return self._died(member, None, exc)
        member.ready_ref = None
        return Event("actor_ready", member)

    def _next_game(self, member: Member) -> Event:
        task = member.task
        assert task is not None
        try:
            ref = next(task.stream)
        except StopIteration:
            member.task = None
            return Event("task_done", member, task=task)
        except RayActorError as exc:
            return self._died(member, task, exc)
        try:
            game = ray.get(ref)
        except RayActorError as exc:
            return self._died(member, task, exc)
        except RayError as exc:  # the task itself failed (e.g. a network that cannot be run)
            member.task = None
            return Event("task_failed", member, task=task, error=_cause(exc))
        task.arrived += 1
        return Event("game", member, game=game, task=task)

    def _died(self, member: Member, task: Task | None, exc: Exception) -> Event:
        self.failures += 1
        self._remove(member)
        return Event("actor_died", member, task=task, error=_cause(exc))

    def _expire_starts(self) -> list[Event]:
        now = time.monotonic()
        late = [
            m for m in self.members if m.ready_ref is not None and now - m.started_at > self.start_timeout
        ]
        return [self._died(m, None, TimeoutError(f"not started in {self.start_timeout:g} s")) for m in late]

    def _remove(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)
        try:
            ray.kill(member.handle, no_restart=True)
        except RayError:
            pass  # already gone


def _cause(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
