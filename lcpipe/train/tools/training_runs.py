"""Settings for a tool's short training run: the spec's trainer settings with another
learning-rate schedule (the rest, model, optimizer and losses included, as written)."""

from __future__ import annotations


def with_schedule(settings: dict, schedule: dict) -> dict:
    """The settings with ``schedule`` in place of the spec's; checkpoints, intervals untouched."""
    return {**settings, "schedule": schedule}


def constant_lr(lr: float) -> dict:
    return {"lr": float(lr)}


def exponential_lr(first: float, last: float, steps: int) -> tuple[dict, list[float]]:
    """A step schedule going from ``first`` to ``last`` by a constant factor per step."""
    if steps < 2:
        raise ValueError("an LR sweep needs at least 2 steps")
    ratio = (last / first) ** (1.0 / (steps - 1))
    values = [first * ratio**i for i in range(steps)]
    return {"lr": float(last), "boundaries": list(range(1, steps)), "values": values}, values
